"""Feature pipeline: candles -> feature vectors on ``features`` and in the feature store (faust)."""

# The service's one name: in logs, dead letters and its supervisor.
SERVICE = "feature_pipeline"
