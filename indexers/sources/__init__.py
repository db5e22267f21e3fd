"""Readers for each feed format; each yields (position, raw record)."""
