"""Webhooks as the Standard Webhooks specification has them (standardwebhooks.com), from an outbox.

A registration (`POST /v1/webhooks`) gets an id and a secret, `whsec_` and the base64 of 24
random bytes. Each event to a registered URL is a message: a file in the home's `api/outbox/`
written before anything is sent, so a restarted server resumes every message not yet delivered.
A delivery is a POST of the JSON body `{"type", "timestamp", "data"}` with the headers

    webhook-id: <message id, the same on every retry>
    webhook-timestamp: <unix seconds of this attempt>
    webhook-signature: v1,<base64 of HMAC-SHA256(secret's bytes, "<id>.<timestamp>.<body>")>

A 2xx answer delivers it; anything else (another status, a refused connection, a timeout) is a
failed attempt, retried after `retry_base_s`, then twice that, and so on up to `retry_max_s`,
at most `max_attempts` times in all (config.yaml: `webhooks`). Redirects are not followed: a
receiver could otherwise point the server at a host the allow-list does not name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import secrets
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from asset_pipeline.api.settings import WebhooksSettings, url_problem
from asset_pipeline.home import Home
from asset_pipeline.specs import InputError, Problem
from asset_pipeline.storage.files import atomic_write_bytes, file_lock

log = logging.getLogger("asset_pipeline.api.webhooks")

EVENTS = ("run.succeeded", "run.failed", "deliverable.published", "deliverable.rejected", "approval.needed")
POLL_S = 0.2


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header's value for one attempt."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


class Webhooks:
    def __init__(self, home: Home, settings: WebhooksSettings):
        self.home, self.settings = home, settings
        self.registry = home.root / "api" / "webhooks.json"
        self.outbox = home.root / "api" / "outbox"
        self.lock = home.locks / "api-webhooks.lock"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ registrations

    def _hooks(self) -> list[dict]:
        try:
            return json.loads(self.registry.read_bytes())
        except FileNotFoundError:
            return []

    def register(self, body: object) -> dict:
        """Store a registration; InputError for a body that is not one or a URL off the allow-list."""
        problems = []
        if not isinstance(body, dict):
            raise InputError([Problem("request", "", "the body must be a JSON object {url, events}")])
        problems += [Problem("request", k, "unknown key (typo?)") for k in sorted(set(body) - {"url", "events"})]
        if "url" not in body:
            problems.append(Problem("request", "url", "required field is missing"))
        elif (problem := url_problem(body["url"], self.settings)) is not None:
            problems.append(problem)
        events = body.get("events")
        if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
            problems.append(Problem("request", "events", f"a non-empty list of: {', '.join(EVENTS)}"))
        else:
            problems += [
                Problem("request", f"events[{i}]", f"unknown event {e[:60]!r}; one of: {', '.join(EVENTS)}")
                for i, e in enumerate(events)
                if e not in EVENTS
            ]
        if problems:
            raise InputError(problems)
        hook = {
            "id": f"wh_{secrets.token_hex(8)}",
            "url": body["url"],
            "events": list(dict.fromkeys(events)),
            "secret": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        with file_lock(self.lock):
            atomic_write_bytes(self.registry, json.dumps([*self._hooks(), hook], indent=2).encode())
        return {k: hook[k] for k in ("id", "secret", "url", "events")}

    # ------------------------------------------------------------------ events into the outbox

    def emit(self, event: str, data: dict) -> int:
        """A message per webhook registered for `event`, written to the outbox; returns how many."""
        made = 0
        for hook in self._hooks():
            if event not in hook["events"] or not self.settings.allows(hook["url"]):
                continue  # a destination taken off the allow-list since gets nothing
            message_id = f"msg_{secrets.token_hex(12)}"
            body = {"type": event, "timestamp": datetime.now(UTC).isoformat(), "data": data}
            record = {
                "id": message_id,
                "webhook": hook["id"],
                "event": event,
                "body": json.dumps(body, separators=(",", ":"), ensure_ascii=False),
                "state": "pending",
                "attempts": [],
                "next_at": time.time(),
                "created_at": time.time(),
            }
            atomic_write_bytes(self.outbox / f"{message_id}.json", json.dumps(record).encode())
            made += 1
        if made:
            self._wake.set()
        return made

    def emit_render(self, answer: dict) -> None:
        """deliverable.published / deliverable.rejected for each deliverable of a real-time render."""
        for entry in answer["deliverables"]:
            event = "deliverable.published" if entry["status"] == "published" else "deliverable.rejected"
            keep = ("asset", "variant", "size", "locale", "status", "reasons", "files")
            self.emit(
                event,
                {"origin": "api", "render": answer["id"], "campaign": answer["campaign"]}
                | {k: entry[k] for k in keep if k in entry},
            )

    def emit_run(self, run: dict, deliverables: list[dict]) -> None:
        """run.succeeded / run.failed, and an event per deliverable of the run's manifest."""
        self.emit("run.succeeded" if run["status"] == "succeeded" else "run.failed", {"run": run})
        for entry in deliverables:
            event = {"published": "deliverable.published", "pending": "approval.needed"}.get(
                entry["status"], "deliverable.rejected"
            )
            self.emit(event, {"origin": "run", "run": run["id"], "campaign": run["campaign"], **entry})

    # ------------------------------------------------------------------ delivery

    def deliveries(self, webhook_id: str) -> dict:
        from asset_pipeline.api.problems import ApiProblem

        if not any(h["id"] == webhook_id for h in self._hooks()):
            raise ApiProblem("not-found", "no such webhook")
        found = []
        for path in self.outbox.glob("msg_*.json") if self.outbox.is_dir() else []:
            record = json.loads(path.read_bytes())
            if record["webhook"] == webhook_id:
                found.append({k: record[k] for k in ("id", "event", "state", "attempts", "created_at")})
        return {"deliveries": sorted(found, key=lambda r: r["created_at"])}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="api-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.timeout_s + 1)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_due()
            except Exception:  # one bad record must not end delivery for all
                log.exception("webhook delivery loop")
            self._wake.wait(POLL_S)
            self._wake.clear()

    def deliver_due(self) -> None:
        hooks = {h["id"]: h for h in self._hooks()}
        for path in sorted(self.outbox.glob("msg_*.json")) if self.outbox.is_dir() else []:
            if self._stop.is_set():
                return
            record = json.loads(path.read_bytes())
            if record["state"] != "pending" or record["next_at"] > time.time():
                continue
            hook = hooks.get(record["webhook"])
            if hook is None or not self.settings.allows(hook["url"]):
                record["state"] = "failed"
                record["attempts"].append({"at": time.time(), "status": None, "error": "destination not allowed"})
            else:
                self._attempt(hook, record)
            atomic_write_bytes(path, json.dumps(record).encode())

    def _attempt(self, hook: dict, record: dict) -> None:
        timestamp = int(time.time())
        body = record["body"].encode()
        headers = {
            "content-type": "application/json",
            "user-agent": "asset_pipeline-webhooks",
            "webhook-id": record["id"],
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(hook["secret"], record["id"], timestamp, body),
        }
        status, error = None, None
        parts = urlsplit(hook["url"])
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = kind(parts.hostname, parts.port, timeout=self.settings.timeout_s)
        try:
            target = parts.path or "/"
            connection.request("POST", target + (f"?{parts.query}" if parts.query else ""), body, headers)
            response = connection.getresponse()
            status = response.status
            response.read(64 * 1024)
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            connection.close()
        record["attempts"].append({"at": timestamp, "status": status, "error": error})
        if status is not None and 200 <= status < 300:
            record["state"] = "delivered"
        elif len(record["attempts"]) >= self.settings.max_attempts:
            record["state"] = "failed"
        else:
            record["next_at"] = time.time() + self.settings.retry_delay(len(record["attempts"]))
