"""The Streamlit dashboard: pages over ``pipelines``, holding no status logic of their own."""
