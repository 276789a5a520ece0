"""Storage: Parquet tables per (stage, campaign), content-addressed images, the result cache, the DuckDB
catalog, and the file primitives under them (atomic writes, locks, retries, hashes)."""
