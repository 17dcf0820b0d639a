"""Labelled synthetic trades, for offline demos only."""
