"""Publication rows of the real record, for catalog tests and benchmarks that need many campaigns quickly."""

from __future__ import annotations

from datetime import UTC, datetime


def publication_row(campaign: str, i: int, version: int = 1) -> dict:
    return {
        "campaign": campaign,
        "asset": f"a{i}",
        "variant": 1,
        "size": "1080x1080",
        "status": "published",
        "path": f"published/{campaign}/a{i}/variant1/1080x1080/v{version}.png",
        "sha256": "0" * 64,
        "version": version,
        "published_at": datetime.now(UTC),
        "model": "tiny",
        "seed": i,
        "brief_hash": "b" * 64,
        "brand_hash": "c" * 64,
        "render_sha256": "d" * 64,
        "pixels_sha256": "e" * 64,
        "change": "pixels",
        "reasons": [],
        "checks": [{"check": "ocr", "passed": True, "value": 1.0, "detail": "read back"}],
    }
