"""A loopback HTTP server that speaks the hosted providers' documented APIs, for the hosted
models' tests: OpenAI's Images API, Ideogram's generate API and Google's Gemini API, on their
own paths, with their headers and their response and error bodies. The adapters under test are
the real ones, on their real SDKs, pointed here by `base_url`.

Each path answers from a script: a list of replies used in order, the last one repeating.
Every request is recorded (path, headers, body), so a test can count them and read them.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image


def small_png(seed: int = 0, size: int = 64) -> bytes:
    """A 64x64 PNG of coloured noise: never blank, no text, as a provider's image stands in."""
    pixels = np.random.default_rng(seed).integers(40, 215, size=(size, size, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Reply:
    status: int = 200
    body: dict | bytes = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow provider)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict  # names in lower case
    body: bytes


class ProviderServer:
    def __init__(self):
        self.scripts: dict[str, list[Reply]] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet: pytest shows failures
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                with server._lock:
                    server.requests.append(
                        Seen(self.command, path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    script = server.scripts.get(path) or [Reply(404, {"error": {"message": "no such path"}})]
                    reply = script.pop(0) if len(script) > 1 else script[0]
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    kind = "image/png" if isinstance(reply.body, bytes) else "application/json"
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

            do_GET = do_POST = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def script(self, path: str, *replies: Reply) -> None:
        self.scripts[path] = list(replies)

    def count(self, path: str) -> int:
        return sum(r.path == path for r in self.requests)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------- each provider's documented shapes

OPENAI_PATH = "/v1/images/generations"
OPENAI_EDIT_PATH = "/v1/images/edits"
IDEOGRAM_PATH = "/generate"
IDEOGRAM_V3_PATH = "/v1/ideogram-v3/generate"
IMAGE_PATH = "/ephemeral/image.png"  # where Ideogram's answer links its image
GEMINI_PATH = "/v1/models/gemini-2.5-flash-image:generateContent"  # google-genai 3 calls v1


def openai_image(revised_prompt: str | None = "a revised mug", request_id: str = "req_openai_1") -> Reply:
    item = {"b64_json": base64.b64encode(small_png(1)).decode()}
    if revised_prompt:
        item["revised_prompt"] = revised_prompt
    return Reply(200, {"created": 1765000000, "data": [item]}, {"x-request-id": request_id})


def openai_error(status: int, code: str, message: str, kind: str = "invalid_request_error", **headers) -> Reply:
    return Reply(status, {"error": {"message": message, "type": kind, "param": None, "code": code}}, headers)


def ideogram_image(server: ProviderServer, seed: int = 1234, request_id: str = "ideo_req_1") -> Reply:
    item = {
        "prompt": "a mug",
        "resolution": "1312x736",
        "is_image_safe": True,
        "seed": seed,
        "url": server.url + IMAGE_PATH,
        "style_type": "REALISTIC",
    }
    return Reply(200, {"created": "2026-12-07T10:00:00Z", "data": [item]}, {"x-request-id": request_id})


def gemini_image(response_id: str = "gemini_resp_1", version: str = "gemini-2.5-flash-image-001") -> Reply:
    part = {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(small_png(2)).decode()}}
    return Reply(
        200,
        {
            "candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 1290, "totalTokenCount": 1302},
            "modelVersion": version,
            "responseId": response_id,
        },
    )


def gemini_error(status: int, state: str, message: str, reason: str | None = None) -> Reply:
    details = (
        [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com"}]
        if reason
        else []
    )
    return Reply(status, {"error": {"code": status, "message": message, "status": state, "details": details}})
