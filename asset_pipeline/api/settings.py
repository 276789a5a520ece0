"""The HTTP API's part of the home's optional `config.yaml`: the `webhooks` section.

```yaml
webhooks:
  allow: [http://127.0.0.1:9000, https://hooks.example.com]   # destinations webhooks may be sent to
  max_attempts: 8        # deliveries per message before it is given up (the first included)
  retry_base_s: 5        # the first retry waits this long, each next one twice as long ...
  retry_max_s: 3600      # ... up to this
  timeout_s: 10          # a receiver that has not answered by then counts as failed
```

The section's schema is `WebhooksSettings` in asset_pipeline/config.py, with the rest of
config.yaml (one strict schema, so a typo in any section is reported by `validate`). A URL is allowed when its scheme, host and port equal an entry's and its path
starts with the entry's path: the server cannot be used to reach hosts nobody allowed.
"""

from __future__ import annotations

from asset_pipeline.config import WebhooksSettings, _origin_parts, load_config
from asset_pipeline.home import Home
from asset_pipeline.specs import Problem

__all__ = ["WebhooksSettings", "load_webhooks_settings", "url_problem"]


def load_webhooks_settings(home: Home) -> WebhooksSettings:
    """The home's webhooks settings (defaults when config.yaml or its section is absent); InputError."""
    return load_config(home).webhooks


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
