"""The home's optional `config.yaml`: settings of the home as a whole (CONTRACT.md section 2).

Strict like briefs: unknown keys are errors, one line each naming the file and the field.
Every section is optional and is its own model, so a new one (`webhooks`, `cost`) is one more
field on `HomeConfig` without touching the others. A home without the file gets the defaults.

```yaml
signing:                                # C2PA content credentials (publishing/content_credentials.py)
  certificate: /run/secrets/c2pa/chain.pem  # PEM chain, the signer's certificate first
  key: /run/secrets/c2pa/signer.key         # its PEM private key (unencrypted: PKCS#8 or traditional)
  tsa_url: https://timestamp.example.com    # optional RFC 3161 time-stamp authority
webhooks:                               # the HTTP API's deliveries (docs/api.md)
  allow: [http://127.0.0.1:9000]        # the only destinations webhooks may be sent to
```

Paths are absolute (a mounted secret) or relative to the home. Without `certificate` and `key`
the signer is `keys/` under the home, where a test certificate is made on first use.

```yaml
cost:                                   # default rates for models with no price of their own (models/cost.py)
  cpu_per_hour: 0.10                    # what an hour of this machine's CPU costs
  cuda_per_hour: 2.50                   # ... and of its GPU
  currency: USD
evaluation_budget: 1.00                 # the most one evaluation of a priced model may cost
evaluation:                             # the suite `model_evaluations` runs (models/evaluation.py)
  suite: eval/suite.yaml                # a suite file of your own (default: the shipped one)
  prompts: 8                            # only its first N prompts (a quicker, smaller evaluation)
```
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator, model_validator

from asset_pipeline.echo import shown
from asset_pipeline.home import Home
from asset_pipeline.specs import Money, _Strict, _validate, read_yaml

CONFIG_FILE = "config.yaml"


class SigningConfig(_Strict):
    certificate: str | None = None
    key: str | None = None
    tsa_url: str | None = None

    @field_validator("certificate", "key")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and (not 0 < len(value) <= 4096 or "\0" in value):
            raise ValueError("must be a file path (1..4096 characters, no NUL)")
        return value

    @field_validator("tsa_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"'{shown(value)}' is not an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _both_or_neither(self) -> SigningConfig:
        if (self.certificate is None) != (self.key is None):
            missing = "key" if self.key is None else "certificate"
            raise ValueError(f"{missing} is missing: certificate and key go together (neither: the signer under keys/)")
        return self

    def paths(self, home: Home) -> tuple[Path, Path] | None:
        """(certificate, key) as absolute paths, or None: the default signer under keys/."""
        if self.certificate is None or self.key is None:
            return None
        return tuple(home.root / Path(p).expanduser() for p in (self.certificate, self.key))


def _origin_parts(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL; ValueError when it is not one."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise ValueError(f"{url!r} carries credentials; give them to the receiver some other way")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname.lower(), port, parts.path or "/"


class WebhooksSettings(_Strict):
    """`webhooks`: where the HTTP API may deliver (asset_pipeline/api/webhooks.py), and how it retries."""

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


CURRENCY = re.compile("[A-Z]{3}")  # ISO 4217


def _currency(value: str) -> str:
    if CURRENCY.fullmatch(value) is None:
        raise ValueError(f"'{shown(value)}' is not an ISO 4217 currency code (three capital letters, e.g. USD)")
    return value


Currency = Annotated[str, AfterValidator(_currency)]


class CostRates(_Strict):
    """What an hour of each device costs: the price of a draft from a model without its own."""

    cpu_per_hour: Money | None = None
    cuda_per_hour: Money | None = None
    currency: Currency = "USD"

    def per_hour(self, device: str | None) -> float | None:
        return {"cpu": self.cpu_per_hour, "cuda": self.cuda_per_hour}.get(device or "")


class EvaluationConfig(_Strict):
    suite: str | None = Field(default=None, min_length=1, max_length=4096)  # relative to the home, or absolute
    prompts: int | None = Field(default=None, ge=1, le=1000, strict=True)  # the suite's first N prompts


class HomeConfig(_Strict):
    signing: SigningConfig = SigningConfig()
    webhooks: WebhooksSettings = WebhooksSettings()
    cost: CostRates = CostRates()
    evaluation: EvaluationConfig = EvaluationConfig()
    # The most one evaluation of a priced model may cost (its currency); None: no limit.
    evaluation_budget: Money | None = None


def load_config(home: Home) -> HomeConfig:
    """The home's config.yaml, validated; the defaults when there is none. Raises InputError."""
    path = home.root / CONFIG_FILE
    # lexists: a dangling link or a symlink loop is a broken config.yaml (read_yaml says so), not "none"
    if not os.path.lexists(path):
        return HomeConfig()
    return _validate(HomeConfig, read_yaml(path, CONFIG_FILE), CONFIG_FILE)
