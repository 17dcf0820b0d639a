"""Feature pipeline: candles -> feature vectors on ``features`` and in the feature store (faust)."""
