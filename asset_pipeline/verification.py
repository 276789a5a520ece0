"""`asset-pipeline verify`: check every published file, manifest and catalog row against the history.

The publications table (the history) and the files table (every format's file of every
version) are the truth: every file they name must exist with its sha256, each delivered
format's `latest.<ext>` must be that format's file of the latest good version, and the
manifest and the catalog must say the same. Every table file must open as its table's.
Read-only: `run` repairs (and sets a damaged table file aside; see storage/tables.py).

Files signed with the generated test certificate are not a problem (they are what they claim
to be) but no validator trusts them: `verify` says so once, with how many there are.
"""

from __future__ import annotations

import json

from asset_pipeline.home import Home
from asset_pipeline.publishing.encoding import EXTENSIONS
from asset_pipeline.stages.publish import WITH_FILE, deliverable_dir
from asset_pipeline.storage.catalog import query
from asset_pipeline.storage.files import sha256_file
from asset_pipeline.storage.records import deliverable_key
from asset_pipeline.storage.tables import DERIVED, SCHEMAS, file_problem, read_rows, table_dir, table_problem


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


def verify_tables(home: Home, campaigns: list[str] | None) -> dict[tuple[str, str], str]:
    """(table, campaign) -> one line, for each table file that does not open as its table's
    (every campaign's when `campaigns` is None)."""
    damaged = {}
    for table in SCHEMAS:
        folder = table_dir(home, table)
        names = campaigns if campaigns is not None else sorted(p.stem for p in folder.glob("*.parquet"))
        for campaign in names:
            if problem := table_problem(home, table, campaign):
                then = (
                    "the next run sets it aside and makes it again"
                    if table in DERIVED
                    else "it cannot be made again: restore it from a backup of the home"
                )
                damaged[(table, campaign)] = f"tables/{table}/{campaign}.parquet: unreadable ({problem}); {then}"
    return damaged


def verify_catalog(home: Home, campaigns: list[str]) -> list[str]:
    """The catalog's publications and files views hold exactly the tables' rows.

    A view over a damaged file cannot answer; that file is the problem (verify_tables names it
    when its campaign is verified), so such a view is not queried."""
    problems = []
    for view in ("publications", "files"):
        if any(file_problem(path, view) for path in table_dir(home, view).glob("*.parquet")):
            continue
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


def files_signed_for_testing(home: Home, campaigns: list[str] | None = None) -> int:
    """How many of the campaigns' published files (every format of every version) are signed
    with a test certificate, which no validator trusts: what `verify` warns about."""
    from asset_pipeline.publishing import content_credentials

    if not content_credentials.available():
        return 0
    formats = {ext: fmt for fmt, ext in EXTENSIONS.items()}
    paths = set()
    damaged = verify_tables(home, campaigns)  # read-only: a damaged table is verify's problem, not moved here
    for campaign in campaigns or published_campaigns(home):
        if ("files", campaign) in damaged or ("publications", campaign) in damaged:
            continue
        paths |= {r["path"] for r in read_rows(home, "files", campaign)}
        paths |= {r["path"] for r in read_rows(home, "publications", campaign) if r["status"] in WITH_FILE}
    count = 0
    for path in sorted(paths):
        fmt = formats.get(path.rpartition(".")[2])
        if fmt and content_credentials.signed_with_test_certificate(
            content_credentials.signature_of(home.inside(path), fmt)
        ):
            count += 1
    return count


def verify(home: Home, campaigns: list[str] | None = None) -> tuple[int, list[str]]:
    damaged = verify_tables(home, campaigns or None)
    problems = list(damaged.values())
    # A campaign whose history or files table is damaged has nothing to check its files against.
    campaigns = [
        c
        for c in campaigns or published_campaigns(home)
        if ("publications", c) not in damaged and ("files", c) not in damaged
    ]
    checked = 0
    for campaign in campaigns:
        n, found = verify_campaign(home, campaign)
        checked += n
        problems += found
    return checked, problems + verify_catalog(home, campaigns)
