"""Trade producer: the system's only door to the market.

Puts every Binance trade onto the ``trades`` topic exactly once, from four
sources: the live websocket streams (with REST gap filling), a REST backfill
of a time range, a replay of the exchange's data-dump files, and a clearly
labelled synthetic generator for offline demos.
"""
