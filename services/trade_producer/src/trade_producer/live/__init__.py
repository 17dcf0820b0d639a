"""Live trades: Binance websocket streams, reconnected, gap-filled, joined by symbols added while running."""
