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
its version files with status `pending`; the `latest.<ext>` files move only once a reviewer approves that
version (`decide`, or a run that finds the approval), and a new version needs a new approval.
A reviewer's rejection makes the deliverable `rejected` with the comment as its reason; the
next run re-rolls its draft (stages/drafts.py). Decisions are the `approvals` table's rows.

Only check results for the render being published count (`render_sha256`): results of
an older render are refused, so a run whose checks did not run publishes nothing new.

Formats: each deliverable is delivered in its `formats` (png, jpeg, webp, avif; see
publishing/encoding.py), each file under its byte budget, as `v<N>.<ext>` beside
`latest.<ext>`. A version is the pixels: every file of a version encodes the same render,
lossy files included, and the `files` table has one row per (deliverable, version, format).
A file already published for a version is kept while it meets the current budget; a format
newly asked for is encoded for the current version, with no new number. The history row's
`path` and `sha256` name the PNG when PNG is among the formats, else the first format.
A deliverable whose file cannot meet its budget at the brand's `min_quality`, or whose file
does not decode back to the render, is rejected with the numbers.

Order of writes (each atomic): version files, the history and files tables, the manifest,
the `latest.<ext>` files, then the review gallery (`index.html`, see gallery.py). A run killed anywhere
leaves the previous state readable, and a re-run converges (files are deterministic).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from asset_pipeline import __version__
from asset_pipeline.home import Home
from asset_pipeline.models.cost import deliverable_costs
from asset_pipeline.models.hosted import provenance_chunks
from asset_pipeline.publishing import content_credentials
from asset_pipeline.publishing.encoding import (
    EXTENSIONS,
    BudgetError,
    Encoded,
    decode_check,
    encode,
    encode_within,
    luma,
)
from asset_pipeline.publishing.gallery import write_gallery
from asset_pipeline.stages.quality import failures_by_deliverable
from asset_pipeline.storage.files import atomic_write_bytes, file_lock, sha256_file
from asset_pipeline.storage.objects import ObjectStore, sha256_bytes
from asset_pipeline.storage.pixels import PixelHashes
from asset_pipeline.storage.records import deliverable_key
from asset_pipeline.storage.tables import read_rows, table_path, write_rows

DEFAULT_FORMATS = [{"format": "png", "max_kb": None}]  # rows written before formats existed


def rejected_row(base: dict, good: dict | None, reasons: list[str]) -> dict:
    """`base` as a publications row recording a rejection: no file, the last good version's number."""
    return dict(
        base,
        status="rejected",
        path=None,
        sha256=None,
        pixels_sha256=None,
        version=good["version"] if good else 0,
        change="rejected",
        reasons=reasons,
    )


def deliverable_dir(campaign: str, asset: str, variant: int, size: str, locale: str | None = None) -> str:
    """The deliverable's folder; a locale's is one level down (a brief without locales keeps its paths)."""
    folder = f"published/{campaign}/{asset}/variant{variant}/{size}"
    return f"{folder}/{locale}" if locale else folder


def provenance(brief_row: dict, draft: dict, render: dict) -> dict[str, str]:
    """What goes into the PNG's text chunks: enough to say how the file was made."""
    return {
        "asset_pipeline:version": __version__,
        "campaign": brief_row["campaign"],
        "asset": brief_row["asset"],
        "variant": str(brief_row["variant"]),
        "size": brief_row["size"],
        **({"locale": brief_row["locale"]} if brief_row.get("locale") else {}),
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
        "key_visual_sha256": render.get("key_visual_sha256") or "",
        "crop_box": ",".join(f"{v:g}" for v in render.get("crop_box") or []),  # in the draft, px
        # an extension is the key visual outpainted; its inset is where the key visual sits in it
        "extension": (
            f"outpainted to {draft['width']}x{draft['height']}, key visual at {','.join(map(str, draft['inset']))}"
            if draft.get("kind") == "extension"
            else ""
        ),
        # an integration is a size's crop with the scene around the product repainted (stages/drafts.py)
        **(
            {
                "product_integration": f"inpaint: the scene around the product repainted at {draft['width']}x{draft['height']}"
            }
            if draft.get("kind") == "integration"
            else {}
        ),
        "render_sha256": render["image_sha256"],
        "upscale": render.get("engine") or "",  # lanczos, or diffusers:<model id>
        # IPTC's AI disclosure: in the XMP and the C2PA manifest of every file (encoding.py)
        "digital_source_type": content_credentials.digital_source_type(render.get("layout")),
        **media_provenance(render.get("layout")),
        **reference_provenance(brief_row, draft),
        **provenance_chunks(draft),  # a hosted model's provider, version, request id (models/hosted)
    }


def reference_provenance(brief_row: dict, draft: dict) -> dict[str, str]:
    """The reference image that steered the key visual (image-to-image), with its hash and strength."""
    if not draft.get("reference_sha256"):
        return {}
    return {
        "reference": brief_row.get("reference") or "",
        "reference_sha256": draft["reference_sha256"],
        "reference_strength": f"{draft['reference_strength']:g}",
    }


def media_provenance(layout_json: str | None) -> dict[str, str]:
    """The media files a render drew, each with its sha256 (path relative to media/): the logo, and
    the product shot with its mask's hash and how the mask was made. Empty when it drew none."""
    layout = json.loads(layout_json) if layout_json else {}
    found = {}
    if logo := layout.get("logo"):
        found.update(logo=logo["path"], logo_sha256=logo["sha256"])
    if product := layout.get("product"):
        found.update(
            product=product["path"],
            product_sha256=product["sha256"],
            product_mask_sha256=product["mask_sha256"],
            product_method=product["method"],
        )
    return found


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


def repair_versions(home: Home, history: list[dict], store: ObjectStore, files: list[dict] = ()) -> list[str]:
    """Restore every published version file (each format's) that is missing or damaged, byte for
    byte, from the content store (publication keeps a copy of each); returns the paths restored."""
    repaired = []
    named = {(r["path"], r["sha256"]) for r in history if r["status"] in WITH_FILE}
    named |= {(r["path"], r["sha256"]) for r in files}
    for path, sha in sorted(named):
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
        self.steps: list[tuple[Path, bytes | None]] = []

    def created(self, path: Path) -> None:
        self.steps.append((path, None))

    def replaced(self, path: Path) -> None:
        self.steps.append((path, path.read_bytes() if path.exists() else None))

    def roll_back(self) -> None:
        for path, before in reversed(self.steps):
            with contextlib.suppress(OSError):
                if before is None:
                    path.unlink(missing_ok=True)
                else:
                    atomic_write_bytes(path, before)


WITH_FILE = ("published", "pending")  # statuses whose row names a version file


def _latest_by_deliverable(history: list[dict]) -> dict[tuple, dict]:
    latest: dict[tuple, dict] = {}
    for row in history:  # rows are appended in time order
        latest[deliverable_key(row)] = row
    return latest


def current_checks(checks: list[dict], render_of: dict[tuple, dict]) -> list[dict]:
    """The check rows that judged the render each deliverable has now; rows of any other render are refused."""
    return [
        c
        for c in checks
        if (key := deliverable_key(c)) in render_of and c.get("render_sha256") == render_of[key]["image_sha256"]
    ]


CREDENTIALS_SLACK = 64  # bytes: a signed file's size may vary by a few (WebP pads its chunks to even lengths)


def _credentials_size(fmt: str, text: dict, sign) -> int:
    """Bytes the content credentials add to a `fmt` file with this provenance: measured by signing
    a 16x16 file (the manifest's size does not depend on the image's), plus CREDENTIALS_SLACK."""
    tiny = encode(Image.new("RGB", (16, 16)), fmt, None if fmt == "png" else 50, text)
    return len(sign(tiny, fmt)) - len(tiny) + CREDENTIALS_SLACK


def _signed_within(render, fmt: str, text: dict, max_kb: float | None, min_quality: int, sign) -> Encoded:
    """The file encoded under its budget and signed. The search keeps the credentials' size free, so
    it runs once; should the signed file still not fit, it runs again under the budget less the
    size measured, reusing its encodes. Raises BudgetError."""
    if sign is None:
        return encode_within(render, fmt, text, max_kb, min_quality)
    encodes: dict[int, bytes] = {}
    reserve = 0 if max_kb is None else _credentials_size(fmt, text, sign)
    encoded = encode_within(render, fmt, text, max_kb, min_quality, reserve, encodes)
    signed = sign(encoded.data, fmt)
    if max_kb is not None and len(signed) > max_kb * 1024:
        overhead = len(signed) - len(encoded.data)
        encoded = encode_within(render, fmt, text, max_kb, min_quality, overhead + CREDENTIALS_SLACK, encodes)
        signed = sign(encoded.data, fmt)
        if len(signed) > max_kb * 1024:
            raise BudgetError(f"{fmt} needs {len(signed)} bytes with its content credentials, budget {max_kb:g} KB")
    return Encoded(fmt, signed, encoded.quality, encoded.max_kb)


def _encode_job(job: tuple, store: ObjectStore, sign) -> tuple[list[Encoded], list[str]]:
    """(the files, the problems) of one deliverable's formats still to encode."""
    key, image_sha, text, todo, min_quality = job
    title = "/".join(str(part) for part in key if part is not None)
    return encode_deliverable(store.open(image_sha), title, text, todo, min_quality, sign)


def signer_for(home: Home, campaign: str):
    """sign(data, fmt, title, provenance) with the home's C2PA credentials, or None without c2pa.

    The credentials (config.yaml, keys/) are read once, on the first file signed: every file of a
    run is signed by the same signer, and a run that encodes nothing reads none."""
    if not content_credentials.available():
        return None
    credentials = functools.cache(lambda: content_credentials.signing_credentials(home))
    return lambda data, fmt, title, text: content_credentials.sign(
        home, data, fmt, f"{campaign}/{title}", text, credentials()
    )


def encode_deliverable(
    render: Image.Image,
    title: str,
    text: dict[str, str],
    todo: list[tuple[str, float | None]],
    min_quality: int,
    sign=None,
) -> tuple[list[Encoded], list[str]]:
    """One deliverable's files: each (format, max_kb) of `todo` encoded with its provenance `text`
    under its byte budget, signed (`sign`, from `signer_for`) and decoded back against the render;
    returns (the files, the problems: a budget no quality meets, a file that does not decode to
    the render). The batch path (publish) and the HTTP API's real-time path both encode here."""
    signer = (lambda data, fmt: sign(data, fmt, title, text)) if sign else None
    files, problems = [], []
    render_luma = luma(render) if any(fmt != "png" for fmt, _ in todo) else None  # once for every lossy file
    for fmt, max_kb in todo:
        try:
            encoded = _signed_within(render, fmt, text, max_kb, min_quality, signer)
        except BudgetError as exc:
            problems.append(f"budget: {exc}")
            continue
        encoded, problem = decode_check(encoded, render, render_luma)  # the bytes that go on disk
        if problem:
            problems.append(f"encoding: {problem}")
        else:
            files.append(encoded)
    return files, problems


def _encode_in_order(
    todo: list[tuple], store: ObjectStore, sign=None
) -> Iterator[tuple[tuple, list[Encoded], list[str]]]:
    """(key, files with provenance, signed when `sign` is given, problems) for each job, in order.

    Decoding the render and the encoders (zlib at level 6, libjpeg, libwebp, libaom) are most of
    publication's time and release the GIL, so they run on a thread per core, a bounded window
    ahead of the (sequential) signing and writing, so memory stays a few images whatever the
    campaign's size.
    """
    workers = max(1, min(len(todo), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        window: deque = deque()
        for job in todo:
            window.append((job[0], pool.submit(_encode_job, job, store, sign)))
            if len(window) > 2 * workers:
                key, future = window.popleft()
                yield key, *future.result()
        while window:
            key, future = window.popleft()
            yield key, *future.result()


def wanted_files(row: dict) -> list[tuple[str, float | None]]:
    """(format, max_kb) for each file a deliverable is delivered as, in the brief's order."""
    return [(f["format"], f["max_kb"]) for f in row.get("formats") or DEFAULT_FORMATS]


def _still_fits(file: dict | None, max_kb: float | None, min_quality: int) -> bool:
    """Whether a file published earlier for this version serves the current settings."""
    if file is None:
        return False
    if file["max_kb"] == max_kb:
        return True
    lossless_or_good = file["quality"] is None or file["quality"] >= min_quality
    return max_kb is not None and file["bytes"] <= max_kb * 1024 and lossless_or_good


def _format_of(path: str) -> str:
    ext = path.rpartition(".")[2]
    return next((fmt for fmt, e in EXTENSIONS.items() if e == ext), ext)


def _version_files(home: Home, key: tuple, good: dict, files: dict[tuple, dict], px: str) -> dict[str, dict]:
    """format -> files row of the deliverable's latest good version; for a version published
    before formats existed, its one PNG as a files row."""
    found = {fmt: row for (k, version, fmt), row in files.items() if k == key and version == good["version"]}
    if found or not good.get("path"):
        return found
    try:
        size = home.inside(good["path"]).stat().st_size
    except OSError:
        size = 0
    fmt = _format_of(good["path"])
    return {
        fmt: dict(
            campaign=good["campaign"],
            asset=key[0],
            variant=key[1],
            size=key[2],
            locale=key[3],
            version=good["version"],
            format=fmt,
            path=good["path"],
            sha256=good["sha256"],
            bytes=size,
            quality=None,
            max_kb=None,
            psnr_db=None,
            pixels_sha256=px,
            published_at=good["published_at"],
        )
    }


def _file_entry(row: dict) -> dict:
    return {k: row[k] for k in ("format", "path", "sha256", "bytes", "quality")}


def latest_decisions(approvals: list[dict]) -> dict[tuple, dict]:
    """(asset, variant, size, locale, version) -> the reviewers' latest decision on it."""
    return {(*deliverable_key(r), r["version"]): r for r in approvals}


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
    served = {(d["asset"], d["variant"], size): d for d in drafts for size in d["sizes"]}  # every locale's
    # ... unless a locale's render was cut from another draft (a product integration's base)
    by_image = {d["image_sha256"]: d for d in drafts if d["image_sha256"]}
    render_of = {deliverable_key(r): r for r in renders}
    checks = current_checks(checks, render_of)
    reasons = failures_by_deliverable(checks)
    # Each history row keeps the checks it was judged by, so the lineage of an
    # old version still shows them after later runs replaced the checks table.
    judged: dict[tuple, list[dict]] = {}
    for check in checks:
        judged.setdefault(deliverable_key(check), []).append(
            {name: check[name] for name in ("check", "passed", "value", "detail")}
        )
    pixels = PixelHashes(home, store)
    # each deliverable's share of what its drafts cost to make (models/cost.py)
    costs = deliverable_costs(
        deliverables, drafts, {deliverable_key(r): served[deliverable_key(r)[:3]] for r in deliverables}
    )
    # C2PA content credentials, when c2pa-python is installed: signed in the encoding threads,
    # so the byte budget holds for the signed file.
    signer = signer_for(home, campaign)
    now = datetime.now(UTC)

    with file_lock(home.locks / f"publish-{campaign}.lock"):
        history = read_rows(home, "publications", campaign)
        files_before = read_rows(home, "files", campaign)
        repaired = repair_versions(home, history, store, files_before)
        undo, latest_updates = _Undo(), []
        last_row = _latest_by_deliverable(history)
        last_good = _latest_by_deliverable([r for r in history if r["status"] == "published"])
        # The version made last (published, or pending a reviewer): versions count from it, so a
        # pending version that is rejected is never numbered again.
        last_made = _latest_by_deliverable([r for r in history if r["status"] in WITH_FILE])
        # The decisions as they stand now, read under the lock `decide` also takes (not the run's
        # snapshot): a decision recorded while this run drew its drafts must not be undone by the
        # manifest it writes. The snapshot's copy is what re-rolls drafts (stages/drafts.py).
        decisions = latest_decisions(read_rows(home, "approvals", campaign)) if require_approval else {}
        # rows from before locales have no `locale`: given one, they compare equal to the same file now
        files_before = [dict(r, locale=r.get("locale")) for r in files_before]
        files_of = {(deliverable_key(r), r["version"], r["format"]): r for r in files_before}
        taken = {r["path"] for r in history if r["path"]} | {r["path"] for r in files_before}
        plans: dict[tuple, _Plan] = {}  # passing deliverables
        for row in deliverables:
            key = deliverable_key(row)
            if reasons.get(key, ["checks: no check results for this render"]):
                continue
            render = render_of[key]
            draft = by_image.get(render.get("draft_sha256")) or served[key[:3]]
            text, px = provenance(row, draft, render), pixels.of_render(render["image_sha256"])
            made = last_made.get(key)
            fresh = made is None or pixels.of_published(made) != px
            version = (made["version"] if made else 0) + 1 if fresh else made["version"]
            status, review = "published", []
            if require_approval and row["tier"] == "final":
                status, review = _reviewed(decisions.get((*key, version)), version)
            kept = {} if fresh else _version_files(home, key, made, files_of, px)
            min_quality = row.get("min_quality") or 60
            wanted = wanted_files(row)
            todo = [(fmt, kb) for fmt, kb in wanted if not _still_fits(kept.get(fmt), kb, min_quality)]
            if status == "rejected":  # a reviewer rejected these very pixels: nothing to encode
                todo = []
            plans[key] = _Plan(text, px, fresh, version, wanted, kept, todo, min_quality, status, review)
        jobs = [(key, render_of[key]["image_sha256"], p.text, p.todo, p.min_quality) for key, p in plans.items()]
        encoded = _encode_in_order([job for job in jobs if job[3]], store, signer)
        new_rows, new_files, entries = [], [], []
        for row in deliverables:
            key = deliverable_key(row)
            draft, render = served[key[:3]], render_of[key]
            why = reasons.get(key, ["checks: no check results for this render"])
            plan = plans.get(key)
            made: list[Encoded] = []
            if plan is not None and plan.todo:
                encoded_key, made, problems = next(encoded)  # same order as the deliverables
                assert encoded_key == key
                why = problems  # a file over budget, or one that does not decode to the render
            if plan is not None and plan.status == "rejected" and not why:
                why = plan.review  # a reviewer's rejection, the comment as its reason
            good = last_good.get(key)
            folder = deliverable_dir(campaign, *key)
            base = dict(
                campaign=campaign,
                asset=row["asset"],
                variant=row["variant"],
                size=row["size"],
                locale=key[3],
                model=draft["model"],
                seed=draft["seed"],
                brief_hash=row["brief_hash"],
                brand_hash=row["brand_hash"],
                render_sha256=render["image_sha256"],
                checks=judged.get(key, []),
                published_at=now,
                cost=costs[key].amount,
                currency=costs[key].currency,
            )
            entry = dict(
                asset=row["asset"],
                variant=row["variant"],
                size=row["size"],
                **({"preset": row["preset"]} if row.get("preset") else {}),  # the channel name the brief gave
                **({"locale": key[3]} if key[3] else {}),  # a manifest without locales stays as it was
                model=draft["model"],
                seed=draft["seed"],
                reasons=why,
                cost=costs[key].amount,  # its share of what its drafts cost to make (None: unknown)
                currency=costs[key].currency,
            )
            if why:
                entry.update(
                    status="rejected",
                    path=None,
                    sha256=None,
                    version=good["version"] if good else None,
                    latest_path=good and f"{folder}/latest.{good['path'].rpartition('.')[2]}",
                    files=[],
                )
                previous = last_row.get(key)
                repeated = _same_inputs(previous, dict(base, status="rejected")) and list(previous["reasons"]) == why
                if not repeated:  # history records changes of outcome, not every run
                    new_rows.append(rejected_row(base, good, why))
                entries.append(entry)
                continue

            files = dict(plan.kept)
            for made_file in made:
                data = made_file.data
                sha, ext = sha256_bytes(data), EXTENSIONS[made_file.format]
                path = f"{folder}/v{plan.version}.{ext}"
                if not plan.fresh and path in taken:  # re-encoded for this version: never over a published file
                    path = f"{folder}/v{plan.version}-{sha[:8]}.{ext}"
                taken.add(path)
                store.put_bytes(data)  # the published bytes too: a damaged file is restored byte for byte
                undo.created(home.inside(path))
                atomic_write_bytes(home.inside(path), data)
                files[made_file.format] = dict(
                    base_file(base, plan, made_file.format),
                    path=path,
                    sha256=sha,
                    bytes=len(data),
                    quality=made_file.quality,
                    max_kb=made_file.max_kb,
                    psnr_db=made_file.psnr_db,
                )
            delivered = [files[fmt] for fmt, _ in plan.wanted]
            for file in delivered:
                if files_of.get((key, plan.version, file["format"])) != file:
                    new_files.append(file)
            primary = next((f for f in delivered if f["format"] == "png"), delivered[0])
            version, path, sha, status = plan.version, primary["path"], primary["sha256"], plan.status
            previous = last_row.get(key)
            if plan.fresh:
                change = "pixels"
            elif not _same_inputs(previous, dict(base, status=status)) or (previous["path"], previous["sha256"]) != (
                path,
                sha,
            ):
                # pending -> published by an approval this run found, else the same pixels from new inputs
                approved = status == "published" and previous["status"] == "pending"
                same = (previous["path"], previous["sha256"]) == (path, sha)
                same = same and _same_inputs(previous, dict(base, status=previous["status"]))
                change = "approval" if approved and same else "provenance"
            else:
                change = None
            if change:
                new_rows.append(
                    dict(
                        base,
                        status=status,
                        path=path,
                        sha256=sha,
                        pixels_sha256=plan.pixels,
                        version=version,
                        change=change,
                        reasons=[],
                    )
                )
            if status == "published":  # pending: the `latest` files still show the last approved version
                for file in delivered:
                    latest = home.inside(folder, f"latest.{EXTENSIONS[file['format']]}")
                    if not _matches(latest, file["sha256"]):
                        lost = good is not None and good["version"] == plan.version  # it was published already
                        if lost and file["format"] in plan.kept and files[file["format"]] is plan.kept[file["format"]]:
                            repaired.append(home.relative(latest))  # its latest good version's file was lost
                        latest_updates.append((latest, home.inside(file["path"])))
                latest_path = f"{folder}/latest.{EXTENSIONS[primary['format']]}"
            else:
                latest_path = good and f"{folder}/latest.{good['path'].rpartition('.')[2]}"
            entry.update(
                status=status,
                path=path,
                sha256=sha,
                version=version,
                latest_path=latest_path,
                reasons=plan.review if status == "pending" else [],
                files=[_file_entry(f) for f in delivered],
            )
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
        # History, files, manifest and latest files change together or not at all: on any failure
        # the ones already written are put back, so they always agree.
        try:
            if new_rows:
                undo.replaced(table_path(home, "publications", campaign))
                write_rows(home, "publications", campaign, [_complete(r) for r in history] + new_rows)
            if new_files:
                replaced = {(deliverable_key(f), f["version"], f["format"]) for f in new_files}
                kept_rows = [r for r in files_before if (deliverable_key(r), r["version"], r["format"]) not in replaced]
                undo.replaced(table_path(home, "files", campaign))
                write_rows(home, "files", campaign, kept_rows + new_files)
            undo.replaced(manifest_path)
            atomic_write_bytes(manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False).encode())
            for latest, source in latest_updates:
                undo.replaced(latest)
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


@dataclass(frozen=True)
class _Plan:
    """What publishing a passing deliverable takes: its version, the files kept and those to encode."""

    text: dict[str, str]  # provenance
    pixels: str  # pixels sha256 of the render
    fresh: bool  # new pixels: a new version
    version: int
    wanted: list[tuple[str, float | None]]
    kept: dict[str, dict]  # format -> files row already published for this version
    todo: list[tuple[str, float | None]]  # formats to encode now, with their budgets
    min_quality: int
    status: str = "published"  # or, with require_approval: pending, or rejected by a reviewer
    review: list[str] = field(default_factory=list)  # why it is pending or was rejected by a reviewer


def base_file(base: dict, plan: _Plan, fmt: str) -> dict:
    return dict(
        campaign=base["campaign"],
        asset=base["asset"],
        variant=base["variant"],
        size=base["size"],
        locale=base["locale"],
        version=plan.version,
        format=fmt,
        pixels_sha256=plan.pixels,
        published_at=base["published_at"],
    )


class DecisionError(LookupError):
    """A reviewer's decision that names no deliverable or version (404), or not the current version (409)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def decide(home: Home, decision: dict, store: ObjectStore) -> dict:
    """Record a reviewer's decision on one version of one deliverable and apply it; returns the approvals row.

    `decision`: campaign, asset, variant, size, version, decision (approve | reject), comment, by.
    Approving the current (pending) version publishes it: a history row with change `approval`,
    and each format's `latest.<ext>` moves to that version's file. Rejecting it makes the
    deliverable `rejected` with the comment as its reason (the next run re-rolls its draft). The
    approvals row, history, manifest, latest files and gallery change together under the
    campaign's publication lock, or not at all.
    """
    campaign = decision["campaign"]
    key = deliverable_key(decision)
    where = f"{key[0]} variant {key[1]} {key[2]}" + (f" {key[3]}" if key[3] else "")
    manifest_path = home.inside("published", campaign, "manifest.json")
    with file_lock(home.locks / f"publish-{campaign}.lock"):
        try:
            manifest = json.loads(manifest_path.read_bytes())
        except FileNotFoundError:
            raise DecisionError(404, f"campaign {campaign!r} has published nothing") from None
        entry = next((e for e in manifest["deliverables"] if deliverable_key(e) == key), None)
        if entry is None:
            raise DecisionError(404, f"no deliverable {where} in {campaign}")
        history = read_rows(home, "publications", campaign)
        mine = [r for r in history if deliverable_key(r) == key]
        made = [r for r in mine if r["status"] in WITH_FILE]
        version = decision["version"]
        if not any(r["version"] == version for r in made):
            raise DecisionError(404, f"{where} has no version {version}")
        if made[-1]["version"] != version:
            raise DecisionError(409, f"v{version} is not the current version (v{made[-1]['version']})")
        current, last = made[-1], mine[-1]
        if last["status"] == "rejected" and not all(r.startswith("review:") for r in last["reasons"]):
            raise DecisionError(409, f"v{version} was rejected by its checks; only a new run can publish it")
        good = next((r for r in reversed(mine) if r["status"] == "published"), None)
        now = datetime.now(UTC)
        row = dict(decision, campaign=campaign, locale=key[3], at=now)
        approvals = read_rows(home, "approvals", campaign)
        folder = deliverable_dir(campaign, *key)
        undo, history_row, latest_moves = _Undo(), None, []
        if decision["decision"] == "approve":
            files_of = {(deliverable_key(r), r["version"], r["format"]): r for r in read_rows(home, "files", campaign)}
            version_files = _version_files(home, key, current, files_of, current.get("pixels_sha256") or "")
            if last["status"] != "published" or last["version"] != version:
                history_row = dict(current, status="published", change="approval", reasons=[], published_at=now)
                latest_moves = [
                    (home.inside(folder, f"latest.{EXTENSIONS.get(fmt, fmt)}"), home.inside(f["path"]))
                    for fmt, f in version_files.items()
                ]
            entry.update(
                status="published",
                path=current["path"],
                sha256=current["sha256"],
                version=version,
                reasons=[],
                latest_path=f"{folder}/latest.{current['path'].rpartition('.')[2]}",
                files=[_file_entry(f) for f in version_files.values()] or entry.get("files", []),
            )
        else:
            reasons = [review_rejection_reason(row)]
            history_row = dict(rejected_row(current, good, reasons), published_at=now)
            entry.update(
                status="rejected",
                path=None,
                sha256=None,
                version=good["version"] if good else None,
                reasons=reasons,
                latest_path=good and f"{folder}/latest.{good['path'].rpartition('.')[2]}",
                files=[],
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
            for latest, source in latest_moves:
                undo.replaced(latest)
                atomic_write_bytes(latest, source.read_bytes())
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
