"""`asset-pipeline verify`: check every published file, manifest and catalog row against the history.

The publications table (the history) is the truth: every version file it names must
exist with its sha256, each deliverable's `latest.png` must be its latest good version,
and the manifest and the catalog must say the same. Read-only: `run` repairs.
"""

from __future__ import annotations

import json

from asset_pipeline.home import Home
from asset_pipeline.storage.catalog import query
from asset_pipeline.storage.files import sha256_file
from asset_pipeline.storage.tables import read_rows


def _file_problem(home: Home, path: str, sha: str) -> str | None:
    try:
        actual = sha256_file(home.inside(path))
    except FileNotFoundError:
        return f"{path}: missing"
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror or exc}"
    return None if actual == sha else f"{path}: sha256 {actual[:12]}… differs from the history's {sha[:12]}…"


def published_campaigns(home: Home) -> list[str]:
    folder = home.tables / "publications"
    return sorted(p.stem for p in folder.glob("*.parquet")) if folder.is_dir() else []


def verify_campaign(home: Home, campaign: str) -> tuple[int, list[str]]:
    """(files checked, one line per problem) for one campaign."""
    history = read_rows(home, "publications", campaign)
    problems: list[str] = []
    checked = 0
    for path, sha in sorted({(r["path"], r["sha256"]) for r in history if r["status"] in ("published", "pending")}):
        checked += 1
        if problem := _file_problem(home, path, sha):
            problems.append(problem)
    latest_good: dict[tuple, dict] = {}
    for row in history:
        if row["status"] == "published":
            latest_good[(row["asset"], row["variant"], row["size"])] = row
    for (asset, variant, size), row in sorted(latest_good.items()):
        latest = f"published/{campaign}/{asset}/variant{variant}/{size}/latest.png"
        checked += 1
        if problem := _file_problem(home, latest, row["sha256"]):
            problems.append(problem.replace("the history's", f"v{row['version']}'s"))

    manifest_path = f"published/{campaign}/manifest.json"
    try:
        manifest = json.loads(home.inside(manifest_path).read_text(encoding="utf-8"))
        entries = manifest["deliverables"]
    except FileNotFoundError:
        return checked, [*problems, f"{manifest_path}: missing"] if history else problems
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return checked, [*problems, f"{manifest_path}: unreadable ({type(exc).__name__})"]
    checked += 1
    for entry in entries:
        key = (entry.get("asset"), entry.get("variant"), entry.get("size"))
        label = f"{manifest_path}: {key[0]} v{key[1]} {key[2]}"
        good = latest_good.get(key)
        if entry.get("status") == "published":
            if good is None:
                problems.append(f"{label}: published, but the history has no published version")
            elif (entry.get("version"), entry.get("path"), entry.get("sha256")) != (
                good["version"],
                good["path"],
                good["sha256"],
            ):
                problems.append(f"{label}: names v{entry.get('version')}, the history's latest is v{good['version']}")
    return checked, problems


def verify_catalog(home: Home, campaigns: list[str]) -> list[str]:
    """The catalog's publications view holds exactly the history's rows."""
    try:
        _, rows = query(home, "SELECT campaign, count(*) FROM publications GROUP BY campaign")
    except Exception as exc:  # a catalog that cannot answer is itself the problem to report
        return [f"catalog.duckdb: cannot query publications ({str(exc).splitlines()[0][:120]})"]
    counts = dict(rows)
    return [
        f"catalog.duckdb: publications has {counts.get(c, 0)} rows for {c}, the history {len(history)}"
        for c in campaigns
        if counts.get(c, 0) != len(history := read_rows(home, "publications", c))
    ]


def verify(home: Home, campaigns: list[str] | None = None) -> tuple[int, list[str]]:
    campaigns = campaigns or published_campaigns(home)
    checked, problems = 0, []
    for campaign in campaigns:
        n, found = verify_campaign(home, campaign)
        checked += n
        problems += found
    return checked, problems + verify_catalog(home, campaigns)
