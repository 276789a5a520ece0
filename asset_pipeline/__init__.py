"""asset_pipeline: campaign briefs and brand rules in, published, checked image assets out."""

__version__ = "0.1.0"
