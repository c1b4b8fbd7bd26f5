"""ragboard's engine: configuration, periods, storage, ingest and status queries.

Pure Python over DuckDB; the Streamlit pages call these functions and draw.
"""
