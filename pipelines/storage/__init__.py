"""Storage: the DuckDB file and its tables, commentary and actions, analyst accounts."""
