"""API tokens: bearer tokens with scopes, of which the home keeps only a hash.

`asset-pipeline tokens create --scope render --scope read` prints a token once; `api/tokens.json`
in the home keeps its id, name, scopes and the sha256 of the token. A plain sha256 (not a slow
password hash) is right here: a token is 256 random bits, so there is nothing to guess from its
hash, and checking it costs a microsecond on every request. The id is part of the token, so a
check is one lookup and one constant-time comparison.

Scopes: `render` (real-time renders), `runs` (briefs and batch runs), `read` (every GET),
`review` (the review app's approvals), `admin` (all of them, and webhooks). The review app
accepts these same tokens (a token with `review` or `admin`), besides its own start-up token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from asset_pipeline.home import Home
from asset_pipeline.storage.files import atomic_write_bytes, file_lock

SCOPES = ("render", "runs", "read", "review", "admin")
PREFIX = "apt"
TOKEN_RE = re.compile(rf"{PREFIX}_([0-9a-f]{{12}})_[A-Za-z0-9_-]{{43}}")
NAME_RE = re.compile(r"[A-Za-z0-9 ._@-]{1,80}")


class TokenError(ValueError):
    """A token command given something it cannot use (an unknown scope, an unknown id)."""


@dataclass(frozen=True)
class Token:
    id: str
    name: str
    scopes: tuple[str, ...]
    sha256: str
    created_at: str
    revoked_at: str | None = None

    def allows(self, scope: str) -> bool:
        return self.revoked_at is None and (scope in self.scopes or "admin" in self.scopes)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """The home's tokens (`api/tokens.json`), re-read when the file changes (another process may
    create or revoke one while a server runs)."""

    def __init__(self, home: Home):
        self.path = home.root / "api" / "tokens.json"
        self.lock = home.locks / "api-tokens.lock"
        self._seen: tuple[int, int] | None = None
        self._tokens: dict[str, Token] = {}
        self._mutex = threading.Lock()

    def _read(self) -> dict[str, Token]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._mutex:
            if stamp != self._seen:
                rows = json.loads(self.path.read_bytes())
                self._tokens = {r["id"]: Token(**{**r, "scopes": tuple(r["scopes"])}) for r in rows}
                self._seen = stamp
            return dict(self._tokens)

    def _write(self, tokens: dict[str, Token]) -> None:
        rows = [asdict(t) for t in tokens.values()]
        atomic_write_bytes(self.path, json.dumps(rows, indent=2).encode())

    def create(self, scopes: list[str], name: str | None = None) -> tuple[Token, str]:
        """(the stored record, the token itself: shown once, never stored)."""
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown or not scopes:
            raise TokenError(f"--scope: {', '.join(unknown) or 'none given'}; choose from {', '.join(SCOPES)}")
        if name is not None and NAME_RE.fullmatch(name) is None:
            raise TokenError("--name: 1 to 80 letters, digits, spaces or . _ @ -")
        token_id = secrets.token_hex(6)
        token = f"{PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
        record = Token(
            id=token_id,
            name=name or "",
            scopes=tuple(dict.fromkeys(scopes)),
            sha256=_hash(token),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        with file_lock(self.lock):
            tokens = self._read()
            tokens[token_id] = record
            self._write(tokens)
        return record, token

    def list(self) -> list[Token]:
        return sorted(self._read().values(), key=lambda t: t.created_at)

    def revoke(self, token_id: str) -> Token:
        with file_lock(self.lock):
            tokens = self._read()
            if token_id not in tokens:
                raise TokenError(f"no token with id {token_id!r} (see `asset-pipeline tokens list`)")
            record = tokens[token_id]
            if record.revoked_at is None:
                record = tokens[token_id] = Token(
                    **{**asdict(record), "revoked_at": datetime.now(UTC).isoformat(timespec="seconds")}
                )
                self._write(tokens)
            return record

    def verify(self, token: str | None) -> Token | None:
        """The live record of `token`, or None (malformed, unknown, revoked or wrong)."""
        match = TOKEN_RE.fullmatch(token or "")
        if match is None:
            return None
        record = self._read().get(match.group(1))
        if record is None or record.revoked_at is not None:
            return None
        return record if hmac.compare_digest(record.sha256, _hash(token)) else None


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, value = (authorization or "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
