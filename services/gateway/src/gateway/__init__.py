"""Tickcast's HTTP gateway: predictions, candles and models from Redis, a live WebSocket, a dashboard."""
