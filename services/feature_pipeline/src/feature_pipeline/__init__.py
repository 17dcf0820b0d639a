"""Feature pipeline: candles -> feature vectors on ``features`` and into the feature store (faust-streaming)."""
