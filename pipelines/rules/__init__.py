"""Rules: the status of every indicator, area and quarter, as SQL built from the catalogue."""
