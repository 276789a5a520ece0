"""Publication: write the deliverables that passed, versioned, with provenance.

The version rule: a deliverable's `version` grows by one when its published pixels
change, and only then. Pixels are compared by `pixels_sha256` (the sha256 of the
decoded image), never by the file's bytes, which also hold provenance and signatures:

- new pixels: a new version file `v<N>.png`, a history row with change `pixels`;
- the same pixels made from other inputs (say a brand edit that changed no pixel):
  no new file and no new number; a history row with change `provenance` records the
  new inputs, and the version file keeps the provenance it was first published with;
- rejected: a history row with change `rejected` (only when the outcome changes); the
  last good version stays published at its path.

Approval (the brand's `require_approval`): a `final`-tier deliverable that passed is written as
its version file with status `pending`; `latest.png` moves only once a reviewer approves that
version (`decide`, or a run that finds the approval), and a new version needs a new approval.
A reviewer's rejection makes the deliverable `rejected` with the comment as its reason; the
next run re-rolls its draft (stages/drafts.py). Decisions are the `approvals` table's rows.

Only check results for the render being published count (`render_sha256`): results of
an older render are refused, so a run whose checks did not run publishes nothing new.

Order of writes (each atomic): version files, `latest.png`, the history table, the
manifest, then the review gallery (`index.html`, see gallery.py). A run killed anywhere
leaves the previous state readable, and a re-run converges (files are deterministic).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from asset_pipeline import __version__
from asset_pipeline.home import Home
from asset_pipeline.publishing import content_credentials
from asset_pipeline.publishing.gallery import write_gallery
from asset_pipeline.stages.quality import failures_by_deliverable
from asset_pipeline.storage.cache import ResultCache
from asset_pipeline.storage.files import atomic_write_bytes, file_lock, sha256_file
from asset_pipeline.storage.objects import ObjectStore, encode_png, pixels_sha256, sha256_bytes
from asset_pipeline.storage.tables import read_rows, table_path, write_rows

PUBLISHED_COMPRESS_LEVEL = 6  # files people download: smaller beats faster here


def deliverable_dir(campaign: str, asset: str, variant: int, size: str) -> str:
    return f"published/{campaign}/{asset}/variant{variant}/{size}"


def provenance(brief_row: dict, draft: dict, render: dict) -> dict[str, str]:
    """What goes into the PNG's text chunks: enough to say how the file was made."""
    return {
        "asset_pipeline:version": __version__,
        "campaign": brief_row["campaign"],
        "asset": brief_row["asset"],
        "variant": str(brief_row["variant"]),
        "size": brief_row["size"],
        "prompt": draft["prompt"],
        "negative_prompt": draft["negative_prompt"] or "",
        "model": draft["model"],
        "weights_hash": draft["weights_hash"],
        "seed": str(draft["seed"]),
        "steps": str(draft["steps"]),
        "guidance": str(draft["guidance"]),
        "palette_grade": str(draft.get("palette_grade") or 0.0),
        "brief_hash": brief_row["brief_hash"],
        "brand_hash": brief_row["brand_hash"],
        "draft_sha256": draft["image_sha256"],
        "render_sha256": render["image_sha256"],
        "upscale": render.get("engine") or "",  # lanczos, or diffusers:<model id>
    }


@dataclass(frozen=True)
class Publication:
    manifest: dict
    new_versions: int
    repaired: list[str]  # home-relative paths of published files found missing or damaged, and restored


class UnrepairableError(RuntimeError):
    """A published version file is missing or damaged and the content store has no copy of it."""


def _matches(path: Path, sha: str) -> bool:
    try:
        return sha256_file(path) == sha
    except FileNotFoundError:
        return False


def repair_versions(home: Home, history: list[dict], store: ObjectStore) -> list[str]:
    """Restore every published version file that is missing or damaged, byte for byte, from
    the content store (publication keeps a copy of each); returns the paths restored."""
    repaired = []
    for path, sha in sorted({(r["path"], r["sha256"]) for r in history if r["status"] in WITH_FILE}):
        target = home.inside(path)
        if _matches(target, sha):
            continue
        if not store.exists(sha):
            raise UnrepairableError(f"{path} is missing or damaged and objects/ has no copy of sha256 {sha[:12]}…")
        atomic_write_bytes(target, store.read_bytes(sha))
        repaired.append(path)
    return repaired


class _Undo:
    """What publication changed, so a failure part-way can put it back."""

    def __init__(self):
        self.steps: list[tuple[Path, bytes | Path | None]] = []

    def created(self, path: Path) -> None:
        self.steps.append((path, None))

    def replaced(self, path: Path) -> None:
        self.steps.append((path, path.read_bytes() if path.exists() else None))

    def latest(self, path: Path, previous: Path | None) -> None:
        self.steps.append((path, previous))

    def roll_back(self) -> None:
        for path, before in reversed(self.steps):
            with contextlib.suppress(OSError):
                if before is None:
                    path.unlink(missing_ok=True)
                else:
                    atomic_write_bytes(path, before if isinstance(before, bytes) else before.read_bytes())


WITH_FILE = ("published", "pending")  # statuses whose row names a version file


def _latest_by_deliverable(history: list[dict]) -> dict[tuple, dict]:
    latest: dict[tuple, dict] = {}
    for row in history:  # rows are appended in time order
        latest[(row["asset"], row["variant"], row["size"])] = row
    return latest


def current_checks(checks: list[dict], render_of: dict[tuple, dict]) -> list[dict]:
    """The check rows that judged the render each deliverable has now; rows of any other render are refused."""
    return [
        c
        for c in checks
        if (key := (c["asset"], c["variant"], c["size"])) in render_of
        and c.get("render_sha256") == render_of[key]["image_sha256"]
    ]


class PixelHashes:
    """render sha256 -> pixels sha256, cached: a nothing-changed rebuild decodes no image."""

    def __init__(self, home: Home, store: ObjectStore):
        self.cache, self.store, self.home = ResultCache(home, "pixels"), store, home

    def of_render(self, sha: str) -> str:
        found = self.cache.get(sha)
        if not isinstance(found, str):
            found = pixels_sha256(self.store.open(sha))
            self.cache.put(sha, found)
        return found

    def of_published(self, row: dict) -> str | None:
        """A history row's pixel hash (rows written before the rule have none: decode their file)."""
        if row.get("pixels_sha256"):
            return row["pixels_sha256"]
        from PIL import Image

        try:
            with Image.open(self.home.inside(row["path"])) as image:
                return pixels_sha256(image.convert("RGB"))
        except OSError:
            return None


def _encode_in_order(todo: list[tuple], store: ObjectStore) -> Iterator[tuple[tuple, bytes]]:
    """(key, PNG bytes with provenance chunks, not yet signed) for each job, in order.

    Decoding the render and zlib at level 6 are most of publication's time and both release
    the GIL, so they run on a thread per core, a bounded window ahead of the (sequential)
    signing and writing, so memory stays a few images whatever the campaign's size.
    """
    workers = max(1, min(len(todo), os.cpu_count() or 1))

    def encode(job: tuple) -> bytes:
        _, image_sha, text = job
        return encode_png(store.open(image_sha), text, PUBLISHED_COMPRESS_LEVEL)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        window: deque = deque()
        for job in todo:
            window.append((job[0], pool.submit(encode, job)))
            if len(window) > 2 * workers:
                key, future = window.popleft()
                yield key, future.result()
        while window:
            key, future = window.popleft()
            yield key, future.result()


def latest_decisions(approvals: list[dict]) -> dict[tuple, dict]:
    """(asset, variant, size, version) -> the reviewers' latest decision on it."""
    return {(r["asset"], r["variant"], r["size"], r["version"]): r for r in approvals}


def review_rejection_reason(decision: dict) -> str:
    comment = " ".join((decision.get("comment") or "").split())
    return f"review: v{decision['version']} rejected by {decision['by']}: {comment}"


def _reviewed(decision: dict | None, version: int) -> tuple[str, list[str]]:
    """(status, reasons) of a passing deliverable that needs a reviewer's approval."""
    if decision is None:
        return "pending", [f"awaiting a reviewer's approval of v{version}"]
    if decision["decision"] == "approve":
        return "published", []
    return "rejected", [review_rejection_reason(decision)]


def _same_inputs(row: dict | None, base: dict) -> bool:
    """Whether a history row was made from the same inputs as `base` (so nothing to record)."""
    fields = ("status", "brief_hash", "brand_hash", "render_sha256", "model", "seed")
    return row is not None and all(row.get(f) == base.get(f) for f in fields)


def publish(
    home: Home,
    deliverables: list[dict],
    drafts: list[dict],
    renders: list[dict],
    checks: list[dict],
    store: ObjectStore,
    inputs: dict | None = None,
    require_approval: bool = False,
) -> Publication:
    """Publish what passed: the manifest (also written to disk), new versions and repaired files.

    `inputs` (the snapshot's fingerprint and input files) goes into the manifest as `inputs`:
    what the nightly compares to decide whether the campaign needs a run at all.
    `require_approval`: final-tier deliverables wait for a reviewer (the approvals table, read
    under the publication lock, which the review app also takes to record a decision)."""
    campaign = deliverables[0]["campaign"]
    served = {(d["asset"], d["variant"], size): d for d in drafts for size in d["sizes"]}
    render_of = {(r["asset"], r["variant"], r["size"]): r for r in renders}
    checks = current_checks(checks, render_of)
    reasons = failures_by_deliverable(checks)
    # Each history row keeps the checks it was judged by, so the lineage of an
    # old version still shows them after later runs replaced the checks table.
    judged: dict[tuple, list[dict]] = {}
    for check in checks:
        judged.setdefault((check["asset"], check["variant"], check["size"]), []).append(
            {name: check[name] for name in ("check", "passed", "value", "detail")}
        )
    pixels = PixelHashes(home, store)
    sign = content_credentials.available()
    now = datetime.now(UTC)

    with file_lock(home.locks / f"publish-{campaign}.lock"):
        history = read_rows(home, "publications", campaign)
        repaired = repair_versions(home, history, store)
        undo, latest_updates = _Undo(), []
        last_row = _latest_by_deliverable(history)
        last_good = _latest_by_deliverable([r for r in history if r["status"] == "published"])
        last_made = _latest_by_deliverable([r for r in history if r["status"] in WITH_FILE])
        decisions = latest_decisions(read_rows(home, "approvals", campaign)) if require_approval else {}
        plans: dict[tuple, tuple[dict, str]] = {}  # passing deliverables: (provenance, pixels sha256)
        for row in deliverables:
            key = (row["asset"], row["variant"], row["size"])
            if not reasons.get(key, ["checks: no check results for this render"]):
                render = render_of[key]
                plans[key] = (provenance(row, served[key], render), pixels.of_render(render["image_sha256"]))
        fresh_keys = [
            key for key, (_, px) in plans.items() if key not in last_made or pixels.of_published(last_made[key]) != px
        ]
        fresh = _encode_in_order([(key, render_of[key]["image_sha256"], plans[key][0]) for key in fresh_keys], store)
        new_rows, entries = [], []
        for row in deliverables:
            key = (row["asset"], row["variant"], row["size"])
            draft, render = served[key], render_of[key]
            why = reasons.get(key, ["checks: no check results for this render"])
            good = last_good.get(key)
            folder = deliverable_dir(campaign, *key)
            base = dict(
                campaign=campaign,
                asset=row["asset"],
                variant=row["variant"],
                size=row["size"],
                model=draft["model"],
                seed=draft["seed"],
                brief_hash=row["brief_hash"],
                brand_hash=row["brand_hash"],
                render_sha256=render["image_sha256"],
                checks=judged.get(key, []),
                published_at=now,
            )
            entry = dict(
                asset=row["asset"],
                variant=row["variant"],
                size=row["size"],
                model=draft["model"],
                seed=draft["seed"],
                reasons=why,
            )
            if why:
                entry.update(
                    status="rejected",
                    path=None,
                    sha256=None,
                    version=good["version"] if good else None,
                    latest_path=good and folder + "/latest.png",
                )
                previous = last_row.get(key)
                repeated = _same_inputs(previous, dict(base, status="rejected")) and list(previous["reasons"]) == why
                if not repeated:  # history records changes of outcome, not every run
                    new_rows.append(
                        dict(
                            base,
                            status="rejected",
                            path=None,
                            sha256=None,
                            pixels_sha256=None,
                            version=good["version"] if good else 0,
                            change="rejected",
                            reasons=why,
                        )
                    )
                entries.append(entry)
                continue

            text, px = plans[key]
            latest = home.inside(folder, "latest.png")
            made = last_made.get(key)
            version = (made["version"] + 1 if made else 1) if key in fresh_keys else made["version"]
            status, why = "published", []
            if require_approval and row["tier"] == "final":
                status, why = _reviewed(decisions.get((*key, version)), version)
            base["status"] = status
            if status == "rejected":  # a reviewer rejected these very pixels: the next run re-rolls the draft
                if key in fresh_keys:
                    next(fresh)  # its encoding, not needed: the rejected version's file exists already
                entry.update(
                    status="rejected",
                    path=None,
                    sha256=None,
                    version=good["version"] if good else None,
                    latest_path=good and folder + "/latest.png",
                    reasons=why,
                )
                previous = last_row.get(key)
                if not (_same_inputs(previous, base) and list(previous["reasons"]) == why):
                    new_rows.append(
                        dict(base, path=None, sha256=None, pixels_sha256=None, version=good["version"] if good else 0)
                        | dict(change="rejected", reasons=why)
                    )
                entries.append(entry)
                continue
            if key in fresh_keys:
                encoded_key, data = next(fresh)  # same order as the deliverables
                assert encoded_key == key
                if sign:  # C2PA content credentials, when c2pa-python is installed
                    data = content_credentials.sign_png(home, data, f"{campaign}/{'/'.join(map(str, key))}", text)
                path, sha = f"{folder}/v{version}.png", sha256_bytes(data)
                store.put_bytes(data)  # the published bytes too: a damaged file is restored byte for byte
                undo.created(home.inside(path))
                atomic_write_bytes(home.inside(path), data)
                new_rows.append(
                    dict(base, path=path, sha256=sha, pixels_sha256=px, version=version, change="pixels", reasons=[])
                )
            else:  # the same pixels as the last version made: no new file, no new number
                path, sha = made["path"], made["sha256"]
                previous = last_row.get(key)
                if not _same_inputs(previous, base):
                    # pending -> published on an approval found by this run, else the same pixels from new inputs
                    approved = status == "published" and previous is not None and previous["status"] != "published"
                    same = approved and _same_inputs(previous, dict(base, status=previous["status"]))
                    change = "approval" if same else "provenance"
                    new_rows.append(
                        dict(base, path=path, sha256=sha, pixels_sha256=px, version=version, change=change, reasons=[])
                    )
            if status == "published" and not _matches(latest, sha):
                if good is not None and good["sha256"] == sha:  # its latest good version's file was lost
                    repaired.append(home.relative(latest))
                latest_updates.append((latest, home.inside(path), good and home.inside(good["path"])))
            entry.update(status=status, path=path, sha256=sha, version=version, reasons=why)
            if status == "published":
                entry["latest_path"] = f"{folder}/latest.png"
            else:  # pending: latest.png still shows the last approved version, if any
                entry["latest_path"] = good and f"{folder}/latest.png"
            entries.append(entry)

        manifest = {
            "campaign": campaign,
            "brand": deliverables[0]["brand"],
            "brand_hash": deliverables[0]["brand_hash"],
            "brief_hash": deliverables[0]["brief_hash"],
            "pipeline_version": __version__,
            "inputs": inputs or {},
            "deliverables": entries,
        }
        manifest_path = home.inside("published", campaign, "manifest.json")
        # History, manifest and latest files change together or not at all: on any failure
        # the ones already written are put back, so the three always agree.
        try:
            if new_rows:
                undo.replaced(table_path(home, "publications", campaign))
                write_rows(home, "publications", campaign, [_complete(r) for r in history] + new_rows)
            undo.replaced(manifest_path)
            atomic_write_bytes(manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False).encode())
            for latest, source, previous in latest_updates:
                undo.latest(latest, previous)
                atomic_write_bytes(latest, source.read_bytes())
            if not table_path(home, "approvals", campaign).exists():
                # An empty table from the start, so the catalog's approvals view (a glob) covers the
                # campaign before any decision, and the review app never needs to write the catalog.
                write_rows(home, "approvals", campaign, [])
            write_gallery(home, manifest, history + new_rows, store)
        except BaseException:
            undo.roll_back()
            raise
    return Publication(manifest, sum(r["change"] == "pixels" for r in new_rows), repaired)


class DecisionError(LookupError):
    """A reviewer's decision that names no deliverable or version (404), or not the current version (409)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def decide(home: Home, decision: dict, store: ObjectStore) -> dict:
    """Record a reviewer's decision on one version of one deliverable and apply it; returns the approvals row.

    `decision`: campaign, asset, variant, size, version, decision (approve | reject), comment, by.
    Approving the current (pending) version publishes it: a history row with change `approval`,
    and `latest.png` moves to it. Rejecting it makes the deliverable `rejected` with the comment
    as its reason (the next run re-rolls its draft). The approvals row, history, manifest, latest
    file and gallery change together under the campaign's publication lock, or not at all.
    """
    campaign = decision["campaign"]
    key = (decision["asset"], decision["variant"], decision["size"])
    manifest_path = home.inside("published", campaign, "manifest.json")
    with file_lock(home.locks / f"publish-{campaign}.lock"):
        try:
            manifest = json.loads(manifest_path.read_bytes())
        except FileNotFoundError:
            raise DecisionError(404, f"campaign {campaign!r} has published nothing") from None
        entry = next((e for e in manifest["deliverables"] if (e["asset"], e["variant"], e["size"]) == key), None)
        if entry is None:
            raise DecisionError(404, f"no deliverable {key[0]} variant {key[1]} {key[2]} in {campaign}")
        history = read_rows(home, "publications", campaign)
        mine = [r for r in history if (r["asset"], r["variant"], r["size"]) == key]
        made = [r for r in mine if r["status"] in WITH_FILE]
        version = decision["version"]
        if not any(r["version"] == version for r in made):
            raise DecisionError(404, f"{key[0]} variant {key[1]} {key[2]} has no version {version}")
        if made[-1]["version"] != version:
            raise DecisionError(409, f"v{version} is not the current version (v{made[-1]['version']})")
        current, last = made[-1], mine[-1]
        if last["status"] == "rejected" and not all(r.startswith("review:") for r in last["reasons"]):
            raise DecisionError(409, f"v{version} was rejected by its checks; only a new run can publish it")
        good = next((r for r in reversed(mine) if r["status"] == "published"), None)
        now = datetime.now(UTC)
        row = dict(decision, campaign=campaign, at=now)
        approvals = read_rows(home, "approvals", campaign)
        folder = deliverable_dir(campaign, *key)
        undo, history_row, latest_from = _Undo(), None, None
        if decision["decision"] == "approve":
            if last["status"] != "published" or last["version"] != version:
                history_row = dict(current, status="published", change="approval", reasons=[], published_at=now)
                latest_from = home.inside(current["path"])
            entry.update(
                status="published",
                path=current["path"],
                sha256=current["sha256"],
                version=version,
                reasons=[],
                latest_path=f"{folder}/latest.png",
            )
        else:
            reasons = [review_rejection_reason(row)]
            history_row = dict(
                current,
                status="rejected",
                path=None,
                sha256=None,
                pixels_sha256=None,
                version=good["version"] if good else 0,
                change="rejected",
                reasons=reasons,
                published_at=now,
            )
            entry.update(
                status="rejected",
                path=None,
                sha256=None,
                version=good["version"] if good else None,
                reasons=reasons,
                latest_path=good and f"{folder}/latest.png",
            )
        try:
            undo.replaced(table_path(home, "approvals", campaign))
            write_rows(home, "approvals", campaign, [*approvals, row])
            if history_row is not None:
                history.append(history_row)
                undo.replaced(table_path(home, "publications", campaign))
                write_rows(home, "publications", campaign, [_complete(r) for r in history])
            undo.replaced(manifest_path)
            atomic_write_bytes(manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False).encode())
            if latest_from is not None:
                latest = home.inside(folder, "latest.png")
                undo.replaced(latest)
                atomic_write_bytes(latest, latest_from.read_bytes())
            write_gallery(home, manifest, history, store)
        except BaseException:
            undo.roll_back()
            raise
    return row


def _complete(row: dict) -> dict:
    """A history row written before `pixels_sha256` and `change` existed, with both filled in as known."""
    if "change" in row and row["change"] is not None:
        return row
    change = "rejected" if row["status"] == "rejected" else "pixels"
    return dict(row, pixels_sha256=row.get("pixels_sha256"), change=change)
