"""Symbolic engine: primitives, edge fitting, composition, constants and parsing."""
