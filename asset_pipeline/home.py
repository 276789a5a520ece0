"""The home folder (ASSET_PIPELINE_HOME, default the checkout's data/): where inputs live and outputs go.

Inputs: briefs/, brands/, media/ and an optional models.yaml and config.yaml; outputs: catalog.duckdb,
published/<campaign>/, dagster/ (the Dagster instance) and the stages' own folders.

Every path built from a user-supplied id goes through `Home.inside`, so a
campaign or asset id can never point outside the home.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = PACKAGE_ROOT / "data"


class HomePathError(ValueError):
    """A path built from input leaves the home folder or cannot be resolved (a symlink loop)."""

    def __init__(self, relative: str, message: str):
        self.relative = relative  # the home-relative path asked for, e.g. "brands/acme.yaml"
        super().__init__(f"path {relative!r} {message}")
        self.reason = message


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def from_env(cls) -> Home:
        return cls(Path(os.environ.get("ASSET_PIPELINE_HOME", DEFAULT_HOME)).expanduser().resolve())

    def inside(self, *parts: str) -> Path:
        relative = "/".join(parts)
        try:
            path = self.root.joinpath(*parts).resolve()
        except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop is a RuntimeError before 3.13
            raise HomePathError(relative, f"cannot be resolved ({type(exc).__name__}: {exc})") from None
        if path != self.root and self.root not in path.parents:
            raise HomePathError(relative, f"escapes the home folder {self.root} (it resolves to {path})")
        return path

    @property
    def briefs(self) -> Path:
        return self.root / "briefs"

    @property
    def brands(self) -> Path:
        return self.root / "brands"

    @property
    def models_file(self) -> Path:
        return self.root / "models.yaml"

    @property
    def catalog(self) -> Path:
        return self.root / "catalog.duckdb"

    @property
    def published(self) -> Path:
        return self.root / "published"

    @property
    def dagster(self) -> Path:
        return self.root / "dagster"

    @property
    def tables(self) -> Path:
        return self.root / "tables"

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def locks(self) -> Path:
        return self.root / ".locks"

    @property
    def media(self) -> Path:
        return self.root / "media"

    def media_path(self, relative: str) -> Path:
        """A file under media/ named by a brief or brand: HomePathError when it resolves outside
        media/ (a "..", an absolute path, or a symlink out)."""
        path = self.inside("media", *relative.split("/"))
        media = self.inside("media")
        if media not in path.parents:
            raise HomePathError(f"media/{relative}", f"leaves media/ (it resolves to {path})")
        return path

    def brief_path(self, campaign: str) -> Path:
        return self.inside("briefs", f"{campaign}.yaml")

    def brand_path(self, brand: str) -> Path:
        return self.inside("brands", f"{brand}.yaml")

    def campaign_ids(self) -> list[str]:
        return sorted(p.stem for p in self.briefs.glob("*.yaml")) if self.briefs.is_dir() else []

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).as_posix()
