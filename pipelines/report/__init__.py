"""The board pack: HTML and PDF from templates, with its trend charts."""
