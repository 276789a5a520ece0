"""Which campaigns need a run: those whose inputs changed since their last publication.

Each publication records, in its manifest, the fingerprint of the input snapshot it was
made from and the input files (path and sha256) that snapshot read. A campaign is fresh
when every one of those files still has its sha256 and the models part (registry, routed
weights) and the code are unchanged, so the fingerprint recomputed now is the same. This
reads no YAML and starts no run: one small JSON file per campaign, and each input file
hashed once however many campaigns share it (a brand, a font, models.yaml).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from asset_pipeline.home import Home
from asset_pipeline.models.registry import load_registry
from asset_pipeline.specs import InputError
from asset_pipeline.stages.briefs import inputs_fingerprint, models_part
from asset_pipeline.storage.files import sha256_file
from asset_pipeline.storage.records import InputFile
from asset_pipeline.storage.tables import has_rows


@dataclass
class Freshness:
    fresh: list[str] = field(default_factory=list)  # published from the inputs as they are now
    stale: dict[str, str] = field(default_factory=dict)  # campaign -> why it needs a run


class _Hashes:
    """sha256 of input files, each read once per check."""

    def __init__(self, home: Home):
        self.home, self.known = home, {}

    def __call__(self, path: str) -> str | None:
        if path not in self.known:
            try:
                self.known[path] = sha256_file(self.home.inside(path) if not path.startswith("/") else path)
            except (OSError, ValueError):
                self.known[path] = None  # gone, unreadable or outside the home: changed
        return self.known[path]


def check_freshness(home: Home, campaigns: list[str]) -> Freshness:
    """Split campaigns into fresh and stale (with the reason), without starting any run."""
    result = Freshness()
    try:
        models = models_part(load_registry(home.root))
    except InputError:
        return Freshness(stale=dict.fromkeys(campaigns, "models.yaml is invalid"))
    hashes = _Hashes(home)
    for campaign in campaigns:
        try:
            inputs = json.loads(home.inside("published", campaign, "manifest.json").read_bytes())["inputs"]
            recorded = [InputFile(path=f["path"], sha256=f["sha256"]) for f in inputs["files"]]
            fingerprint = inputs["fingerprint"]
        except FileNotFoundError:
            result.stale[campaign] = "never published"
            continue
        except (OSError, ValueError, KeyError, TypeError):
            result.stale[campaign] = "its manifest records no inputs"
            continue
        changed = [f.path for f in recorded if hashes(f.path) != f.sha256]
        decisions = f"tables/approvals/{campaign}.parquet"
        if decisions not in {f.path for f in recorded} and has_rows(home, "approvals", campaign):
            changed.append(decisions)  # a reviewer decided since: a rejection re-rolls a draft
        if changed:
            result.stale[campaign] = f"changed: {', '.join(changed[:3])}" + (" …" if len(changed) > 3 else "")
        elif inputs_fingerprint(recorded, models) != fingerprint:
            result.stale[campaign] = "the models or the code changed"
        else:
            result.fresh.append(campaign)
    return result
