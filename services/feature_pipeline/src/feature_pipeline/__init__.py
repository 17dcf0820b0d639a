"""Feature pipeline: candles -> feature vectors on ``features`` and in the feature store (faust)."""

from tickcast.quiet import silence_known_notices

silence_known_notices()
