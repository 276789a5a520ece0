"""Ids the API makes (renders, runs) and the patterns its path parameters must match."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
SHA_RE = re.compile(r"[0-9a-f]{64}")


def new_id(prefix: str) -> str:
    """Sortable by time, unguessable by the rest: `r20261207t031500-3f9a1c2b`."""
    return f"{prefix}{datetime.now(UTC).strftime('%Y%m%dt%H%M%S')}-{secrets.token_hex(4)}"
