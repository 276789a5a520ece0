"""`asset-pipeline verify`: check every published file, manifest and catalog row against the history.

The publications table (the history) and the files table (every format's file of every
version) are the truth: every file they name must exist with its sha256, each delivered
format's `latest.<ext>` must be that format's file of the latest good version, and the
manifest and the catalog must say the same. Read-only: `run` repairs.
"""

from __future__ import annotations

import json

from asset_pipeline.home import Home
from asset_pipeline.stages.publish import deliverable_dir
from asset_pipeline.storage.catalog import query
from asset_pipeline.storage.files import sha256_file
from asset_pipeline.storage.records import deliverable_key
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
    files = read_rows(home, "files", campaign)
    problems: list[str] = []
    checked = 0
    named = {(r["path"], r["sha256"]) for r in history if r["status"] in ("published", "pending")}
    for path, sha in sorted(named | {(r["path"], r["sha256"]) for r in files}):
        checked += 1
        if problem := _file_problem(home, path, sha):
            problems.append(problem)
    # The HTTP API's real-time renders have their files (checked above) but no latest files or manifest.
    history = [r for r in history if r.get("origin") != "api"]
    files = [r for r in files if r.get("origin") != "api"]
    if not history:
        return checked, problems
    latest_good: dict[tuple, dict] = {}
    for row in history:
        if row["status"] == "published":
            latest_good[deliverable_key(row)] = row
    files_of: dict[tuple, dict[str, dict]] = {}
    for file in files:
        files_of.setdefault((*deliverable_key(file), file["version"]), {})[file["format"]] = file
    for key, row in sorted(latest_good.items(), key=lambda item: (*item[0][:3], item[0][3] or "")):
        folder = deliverable_dir(campaign, *key)
        ext = row["path"].rpartition(".")[2]
        checked += 1
        if problem := _file_problem(home, f"{folder}/latest.{ext}", row["sha256"]):
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
        key = (entry.get("asset"), entry.get("variant"), entry.get("size"), entry.get("locale"))
        label = f"{manifest_path}: {key[0]} v{key[1]} {key[2]}" + (f" {key[3]}" if key[3] else "")
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
            version_files = files_of.get((*key, good["version"]) if good else (), {})
            for item in entry.get("files") or []:
                file = version_files.get(item.get("format"))
                if file is None or (item.get("path"), item.get("sha256")) != (file["path"], file["sha256"]):
                    problems.append(
                        f"{label}: its {item.get('format')} file is not the files table's for v{good['version']}"
                    )
                    continue
                latest = f"{item['path'].rpartition('/')[0]}/latest.{item['path'].rpartition('.')[2]}"
                if item["path"] == good["path"]:
                    continue  # checked above
                checked += 1
                if problem := _file_problem(home, latest, file["sha256"]):
                    problems.append(problem.replace("the history's", f"v{good['version']}'s"))
    return checked, problems


def verify_catalog(home: Home, campaigns: list[str]) -> list[str]:
    """The catalog's publications and files views hold exactly the tables' rows."""
    problems = []
    for view in ("publications", "files"):
        try:
            _, rows = query(home, f"SELECT campaign, count(*) FROM {view} GROUP BY campaign")
        except Exception as exc:  # a catalog that cannot answer is itself the problem to report
            problems.append(f"catalog.duckdb: cannot query {view} ({str(exc).splitlines()[0][:120]})")
            continue
        counts = dict(rows)
        problems += [
            f"catalog.duckdb: {view} has {counts.get(c, 0)} rows for {c}, the table {len(table)}"
            for c in campaigns
            if counts.get(c, 0) != len(table := read_rows(home, view, c))
        ]
    return problems


def verify(home: Home, campaigns: list[str] | None = None) -> tuple[int, list[str]]:
    campaigns = campaigns or published_campaigns(home)
    checked, problems = 0, []
    for campaign in campaigns:
        n, found = verify_campaign(home, campaign)
        checked += n
        problems += found
    return checked, problems + verify_catalog(home, campaigns)
