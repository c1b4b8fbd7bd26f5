"""Ingest: read a file from any writer, check it against the catalogue, load it, undo a load."""
