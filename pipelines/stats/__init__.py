"""Statistics (confidence intervals, SPC, forecasts) arrive here; empty for now."""
