"""Stage logic as plain functions over plain data; the Dagster layer only calls them."""
