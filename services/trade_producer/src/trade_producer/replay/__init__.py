"""Replay of data-dump files onto the trades topic."""
