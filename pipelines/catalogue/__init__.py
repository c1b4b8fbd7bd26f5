"""The catalogue: indicators.yaml read, bounded and validated; financial-year quarters."""
