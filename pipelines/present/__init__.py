"""Presentation: status words, symbols and colours, numbers and the arithmetic in words, safe CSV."""
