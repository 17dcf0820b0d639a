"""Feature pipeline: candles -> feature vectors on ``features`` and in the feature store (faust)."""

from tickcast.quiet import silence_known_notices

silence_known_notices()

# The service's one name: in logs, dead letters and its supervisor.
SERVICE = "feature_pipeline"
