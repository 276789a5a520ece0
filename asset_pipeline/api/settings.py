"""The HTTP API's part of the home's optional `config.yaml`: the `webhooks` section.

```yaml
webhooks:
  allow: [http://127.0.0.1:9000, https://hooks.example.com]   # destinations webhooks may be sent to
  max_attempts: 8        # deliveries per message before it is given up (the first included)
  retry_base_s: 5        # the first retry waits this long, each next one twice as long ...
  retry_max_s: 3600      # ... up to this
  timeout_s: 10          # a receiver that has not answered by then counts as failed
```

Other sections of config.yaml (`signing`, `cost`, ...) belong to other parts of the pipeline and
are not read here. A URL is allowed when its scheme, host and port equal an entry's and its path
starts with the entry's path: the server cannot be used to reach hosts nobody allowed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from asset_pipeline.home import Home
from asset_pipeline.specs import InputError, Problem, _problems, read_yaml

LABEL = "config.yaml"


def _origin_parts(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL; ValueError when it is not one."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise ValueError(f"{url!r} carries credentials; give them to the receiver some other way")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname.lower(), port, parts.path or "/"


class WebhooksSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    allow: list[str] = Field(default_factory=list, max_length=100)
    max_attempts: int = Field(default=8, ge=1, le=20)
    retry_base_s: float = Field(default=5.0, gt=0, le=3600)
    retry_max_s: float = Field(default=3600.0, gt=0, le=86400)
    timeout_s: float = Field(default=10.0, gt=0, le=60)

    @field_validator("allow")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            _origin_parts(url)
        return urls

    def allows(self, url: str) -> bool:
        try:
            scheme, host, port, path = _origin_parts(url)
        except ValueError:
            return False
        for entry in self.allow:
            e_scheme, e_host, e_port, e_path = _origin_parts(entry)
            if (scheme, host, port) == (e_scheme, e_host, e_port) and path.startswith(e_path.rstrip("/") or "/"):
                return True
        return False

    def retry_delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed delivery: exponential, capped."""
        return min(self.retry_base_s * 2 ** (attempts - 1), self.retry_max_s)


class _Config(BaseModel):
    # Only the `webhooks` section is this module's; the others are read (and checked) elsewhere.
    model_config = ConfigDict(extra="allow")

    webhooks: WebhooksSettings = Field(default_factory=WebhooksSettings)


def load_webhooks_settings(home: Home) -> WebhooksSettings:
    """The home's webhooks settings (defaults when config.yaml or its section is absent); InputError."""
    path = home.root / LABEL
    if not path.exists():
        return WebhooksSettings()
    data = read_yaml(path, LABEL)
    try:
        return _Config.model_validate(data).webhooks
    except ValidationError as exc:
        raise InputError(_problems(exc, LABEL, data)) from None


def url_problem(url: object, settings: WebhooksSettings) -> Problem | None:
    """Why `url` cannot receive webhooks, or None."""
    if not isinstance(url, str) or len(url) > 2000:
        return Problem("request", "url", "an http(s) URL of at most 2000 characters")
    try:
        _origin_parts(url)
    except ValueError as exc:
        return Problem("request", "url", str(exc))
    if not settings.allows(url):
        return Problem("request", "url", "not on the allow-list (config.yaml: webhooks.allow)")
    return None
