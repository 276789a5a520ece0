"""`asset-pipeline lineage PATH`: where a published file came from, found by its hash.

Any published file is found: the history's own file, or any format's (the `files` table).
The chain is read from the publication history (which keeps every version and
the checks each version was judged by), the file's own provenance (PNG text chunks,
or the XMP of a JPEG, WebP or AVIF), and the stage tables when they still describe
the same render or draft.
"""

from __future__ import annotations

import re
from pathlib import Path

from asset_pipeline.home import Home
from asset_pipeline.models.cost import price_text
from asset_pipeline.publishing.encoding import read_provenance
from asset_pipeline.stages.publish import media_provenance
from asset_pipeline.storage.catalog import connect_readonly
from asset_pipeline.storage.files import sha256_file

SHA256_RE = re.compile("[0-9a-f]{64}")


class LineageError(Exception):
    pass


def _rows(home: Home, sql: str, params: list) -> list[dict]:
    with connect_readonly(home) as con:
        result = con.execute(sql, params)
        columns = [d[0] for d in result.description]
        return [dict(zip(columns, row)) for row in result.fetchall()]


def _content_credentials(data: bytes, fmt: str = "png") -> dict | None:
    """Who signed the file's C2PA manifest and what it declares; None when it has none."""
    from asset_pipeline.publishing import content_credentials

    if not content_credentials.available():
        return None
    try:
        store = content_credentials.read_manifest(data, fmt)
    except Exception:  # c2pa raises its own error types for "no manifest here"
        return None
    active = store.get("manifests", {}).get(store.get("active_manifest"), {})
    actions = [
        a
        for assertion in active.get("assertions", [])
        if assertion.get("label", "").startswith("c2pa.actions")
        for a in assertion.get("data", {}).get("actions", [])
    ]
    signature = active.get("signature_info", {})
    return {
        "signer": signature.get("common_name"),
        "test_certificate": content_credentials.signed_with_test_certificate(signature),
        "time_stamp": signature.get("time"),  # an RFC 3161 authority's time (config.yaml's signing.tsa_url)
        "digital_source_type": next((a.get("digitalSourceType") for a in actions if a.get("digitalSourceType")), None),
        "validation_state": store.get("validation_state"),
    }


def _by_sha256(home: Home, text: str) -> Path | None:
    """The file a sha256 names (any published or real-time rendered file), or None."""
    if SHA256_RE.fullmatch(text) is None:
        return None
    rows = _rows(home, "SELECT path FROM files WHERE sha256 = ? LIMIT 1", [text])
    return home.root / rows[0]["path"] if rows else None


def lineage(home: Home, path: Path) -> dict:
    """The chain of a file, named by its path or by its sha256."""
    candidates = [path, home.root / path] if not path.is_absolute() else [path]
    found = next((p for p in candidates if p.is_file()), None) or _by_sha256(home, str(path))
    if found is None or not found.is_file():
        raise LineageError(f"{path}: no such file")
    sha = sha256_file(found)
    pubs = _rows(home, "SELECT * FROM publications WHERE sha256 = ? AND status = 'published' ORDER BY version", [sha])
    files = _rows(home, "SELECT * FROM files WHERE sha256 = ? ORDER BY version", [sha])
    if not pubs and files:  # a file of another format than the history row names: its version's row
        f = files[0]
        pubs = _rows(
            home,
            "SELECT * FROM publications WHERE campaign = ? AND asset = ? AND variant = ? AND size = ? "
            "AND locale IS NOT DISTINCT FROM ? AND version = ? AND status = 'published' "
            "AND request_id IS NOT DISTINCT FROM ? ORDER BY published_at",
            [f["campaign"], f["asset"], f["variant"], f["size"], f["locale"], f["version"], f["request_id"]],
        )
    if not pubs:
        raise LineageError(f"{path}: sha256 {sha[:12]}… was never published by this pipeline (home {home.root})")
    pub = pubs[0]
    data = found.read_bytes()
    fmt, chunks = read_provenance(data)
    file = next((f for f in files if f["version"] == pub["version"]), None)
    key = [pub["campaign"], pub["asset"], pub["variant"], pub["size"], pub["locale"]]
    # NULL is the implicit locale of a brief without locales (and of rows written before them)
    where = "campaign = ? AND asset = ? AND variant = ? AND size = ? AND locale IS NOT DISTINCT FROM ?"
    render = _rows(home, f"SELECT * FROM renders WHERE {where} AND image_sha256 = ?", key + [pub["render_sha256"]])
    if pub.get("checks"):  # recorded with the version itself
        checks = [dict(c) for c in pub["checks"]]
    else:  # history written before checks were recorded per version
        checks = _rows(home, f'SELECT "check", passed, value, detail FROM checks WHERE {where}', key) if render else []
    draft_sha = chunks.get("draft_sha256")
    drafts = (
        _rows(
            home,
            "SELECT attempts, route_reason, fallbacks, device, made_cost, currency FROM drafts "
            "WHERE campaign = ? AND asset = ? AND variant = ? AND image_sha256 = ?",
            key[:3] + [draft_sha],
        )
        if draft_sha
        else []
    )
    # a real-time render's rows are told apart by their request (its campaign groups many requests)
    request = " AND request_id IS NOT DISTINCT FROM ?"
    brief = _rows(
        home, f"SELECT brief_file, brief_hash, brand FROM briefs WHERE {where}{request}", key + [pub["request_id"]]
    )
    return {
        "file": str(found),
        "sha256": sha,
        "format": fmt,
        "encoding": {k: file[k] for k in ("format", "bytes", "quality", "max_kb", "psnr_db")} if file else None,
        "publication": {
            k: pub[k] for k in ("campaign", "asset", "variant", "size", "locale", "version", "path", "published_at")
        },
        "origin": pub.get("origin") or "run",
        "request_id": pub.get("request_id"),
        "brief": {
            # a real-time render's brief is its request, kept under api/requests/
            "file": brief[0]["brief_file"]
            if brief and pub.get("origin") == "api"
            else f"briefs/{pub['campaign']}.yaml",
            "hash": pub["brief_hash"],
            "current": bool(brief and brief[0]["brief_hash"] == pub["brief_hash"]),
        },
        "brand": {"file": f"brands/{brief[0]['brand']}.yaml" if brief else None, "hash": pub["brand_hash"]},
        "model": {
            "id": chunks.get("model", pub["model"]),
            "weights_hash": chunks.get("weights_hash"),
            "steps": chunks.get("steps"),
            "guidance": chunks.get("guidance"),
            "palette_grade": chunks.get("palette_grade"),
            # a hosted model (models/hosted): who drew it, and that the same request may draw another picture
            "reproducible": chunks.get("reproducible") != "false",
            **{
                k: chunks.get(k) or None
                for k in (
                    "provider",
                    "provider_model",
                    "provider_model_version",
                    "provider_request_id",
                    "revised_prompt",
                )
                if k in chunks
            },
        },
        "seed": pub["seed"],
        # this deliverable's share of what its drafts cost to make (None: unknown, or published before costs)
        "cost": {"amount": pub.get("cost"), "currency": pub.get("currency")},
        "prompt": chunks.get("prompt"),
        "negative_prompt": chunks.get("negative_prompt"),
        "draft": {
            "sha256": chunks.get("draft_sha256"),
            "path": f"objects/{chunks['draft_sha256'][:2]}/{chunks['draft_sha256']}.png"
            if chunks.get("draft_sha256")
            else None,
            "attempts": list(drafts[0]["attempts"] or []) if drafts else None,
            # why its model drew it (the route, or the rule and the numbers it chose by), and who was passed over
            "route_reason": drafts[0]["route_reason"] if drafts else None,
            "fallbacks": list(drafts[0]["fallbacks"] or []) if drafts else [],
            "device": drafts[0]["device"] if drafts else None,
            # the asset's key visual this size is cut from, where, and whether it was outpainted
            "key_visual_sha256": chunks.get("key_visual_sha256") or None,
            "crop_box": [float(v) for v in chunks["crop_box"].split(",")] if chunks.get("crop_box") else None,
            "extension": chunks.get("extension") or None,
            "product_integration": chunks.get("product_integration") or None,
        },
        "render": {
            "sha256": pub["render_sha256"],
            "layout": render[0]["layout"] if render else None,
            "upscale": chunks.get("upscale") or None,
        },
        "media": _media(chunks, render[0]["layout"] if render else None),
        "checks": checks,
        "pipeline_version": chunks.get("asset_pipeline:version"),
        "c2pa": _content_credentials(data, fmt) if fmt else None,
    }


def _media(chunks: dict[str, str], layout_json: str | None) -> dict:
    """The logo and product files the render drew, with their hashes: from the file's own
    provenance, else (files published before it carried them) from the render's layout."""
    found = chunks if "product_sha256" in chunks or "logo_sha256" in chunks else media_provenance(layout_json)
    media = {}
    if found.get("logo"):
        media["logo"] = {"path": f"media/{found['logo']}", "sha256": found["logo_sha256"]}
    if found.get("product"):
        media["product"] = {
            "path": f"media/{found['product']}",
            "sha256": found["product_sha256"],
            "mask_sha256": found.get("product_mask_sha256"),
            "method": found.get("product_method"),
        }
    if chunks.get("reference_sha256"):  # the image that steered the key visual
        media["reference"] = {
            "path": f"media/{chunks['reference']}",
            "sha256": chunks["reference_sha256"],
            "strength": float(chunks["reference_strength"]),
        }
    return media


def format_lineage(chain: dict) -> str:
    pub = chain["publication"]
    lines = [
        f"file      {chain['file']}",
        f"sha256    {chain['sha256']}",
        *(
            [
                f"format    {enc['format']} {enc['bytes']} bytes"
                + (f" quality {enc['quality']}" if enc["quality"] is not None else " lossless")
                + (f" (budget {enc['max_kb']:g} KB)" if enc["max_kb"] is not None else "")
                + (f" PSNR {enc['psnr_db']} dB against the render" if enc["psnr_db"] is not None else "")
            ]
            if (enc := chain.get("encoding"))
            else []
        ),
        f"{'rendered ' if chain.get('origin') == 'api' else 'published'} {pub['campaign']}/{pub['asset']} "
        f"variant {pub['variant']} {pub['size']} "
        f"version {pub['version']} at {pub['published_at']}"
        + (f" by API request {chain['request_id']}" if chain.get("request_id") else ""),
        f"brief     {chain['brief']['file']} hash {chain['brief']['hash']}"
        + ("" if chain["brief"]["current"] else " (the brief has changed since)"),
        f"brand     {chain['brand']['file']} hash {chain['brand']['hash']}",
        f"model     {chain['model']['id']} weights {chain['model']['weights_hash']} "
        f"steps {chain['model']['steps']} guidance {chain['model']['guidance']}"
        + (
            f" palette grade {chain['model']['palette_grade']}"
            if float(chain["model"].get("palette_grade") or 0)
            else ""
        ),
        *(
            [
                f"  hosted  {model['provider']} {model['provider_model']}"
                + (f" version {model['provider_model_version']}" if model.get("provider_model_version") else "")
                + f", request {model.get('provider_request_id') or 'unknown'}, reproducible: false",
                *([f"  revised prompt {model['revised_prompt']}"] if model.get("revised_prompt") else []),
            ]
            if (model := chain["model"]).get("provider")
            else []
        ),
        f"seed      {chain['seed']}",
        *([f"route     {chain['draft']['route_reason']}"] if chain["draft"].get("route_reason") else []),
        *[f"  passed over {reason}" for reason in chain["draft"].get("fallbacks") or []],
        "cost      "
        + price_text(chain["cost"]["amount"], chain["cost"]["currency"])
        + (f" (drafts on {chain['draft']['device']})" if chain["draft"].get("device") else ""),
        f"prompt    {chain['prompt']}",
        f"draft     {chain['draft']['sha256']} ({chain['draft']['path']})",
        *[
            f"  attempt {i} model {a['model']} seed {a['seed']}: {a['reason'] or 'passed'}"
            for i, a in enumerate(chain["draft"]["attempts"] or [], 1)
            if len(chain["draft"]["attempts"]) > 1
        ],
        *(
            [f"  cut from key visual {chain['draft']['key_visual_sha256']} at {chain['draft']['crop_box']}"]
            if chain["draft"].get("key_visual_sha256")
            else []
        ),
        *([f"  {chain['draft']['extension']}"] if chain["draft"].get("extension") else []),
        *([f"  {chain['draft']['product_integration']}"] if chain["draft"].get("product_integration") else []),
        f"render    {chain['render']['sha256']}"
        + (f" (upscale {chain['render']['upscale']})" if chain["render"]["upscale"] else ""),
    ]
    for role, item in (chain.get("media") or {}).items():
        extra = f" mask {item['mask_sha256']} ({item['method']})" if item.get("mask_sha256") else ""
        extra += f" strength {item['strength']:g}" if "strength" in item else ""
        lines.append(f"{role:<9} {item['path']} sha256 {item['sha256']}{extra}")
    if chain.get("c2pa"):
        lines.append(
            f"c2pa      signed by {chain['c2pa']['signer']} ({chain['c2pa']['validation_state']})"
            + (f", time-stamped {chain['c2pa']['time_stamp']}" if chain["c2pa"].get("time_stamp") else "")
            + f": {chain['c2pa']['digital_source_type']}"
        )
    if chain["checks"]:
        lines.append("checks")
        lines += [
            f"  {'pass' if c['passed'] else 'FAIL'} {c['check']:<13} {'' if c['value'] is None else round(c['value'], 3)!s:<7} {c['detail']}"
            for c in chain["checks"]
        ]
    else:
        lines.append("checks    (the current checks describe a newer render; this version passed them when published)")
    return "\n".join(lines)
