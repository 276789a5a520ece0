"""Storage: Parquet tables per (stage, campaign), content-addressed images, the DuckDB catalog."""
