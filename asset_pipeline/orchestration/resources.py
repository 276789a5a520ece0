"""Resources shared by every asset: where the home is, the model registry, the generator."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from asset_pipeline.home import Home
from asset_pipeline.models.generation import DraftGenerator
from asset_pipeline.models.registry import Registry, load_registry

# One generator per process keeps loaded pipelines across the steps and runs of
# an in-process executor (`asset-pipeline run` builds many campaigns in one process).
_GENERATOR: DraftGenerator | None = None


class PipelineResource(dg.ConfigurableResource):
    """The home folder (empty means $ASSET_PIPELINE_HOME or the checkout's data/), and
    how many generation attempts a draft gets when it fails a draft-level check."""

    home: str = ""
    draft_attempts: int = 3

    def home_dir(self) -> Home:
        return Home(Path(self.home).expanduser().resolve()) if self.home else Home.from_env()

    def registry(self) -> Registry:
        return load_registry(self.home_dir().root)

    def generator(self) -> DraftGenerator:
        global _GENERATOR
        if _GENERATOR is None:
            _GENERATOR = DraftGenerator()
        return _GENERATOR
