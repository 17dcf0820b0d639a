"""THE feature definitions of Tickcast, shared by the stream, the backfill, training and inference.

- :mod:`tickcast.features.definitions`: the documented feature table and ``FEATURE_SET_VERSION``;
- :mod:`tickcast.features.compute`: :func:`compute_block` (the one computation) and the batch path
  :func:`compute_history` over a candle frame;
- :mod:`tickcast.features.buffer`: :class:`CandleBuffer`, the stream's per-symbol state that calls the
  same computation for each new candle.
"""

from tickcast.features.compute import compute_history, empty_feature_frame
from tickcast.features.definitions import (
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    FEATURES,
    FeatureSpec,
    features_markdown,
)
from tickcast.features.buffer import Bar, Pushed, CandleBuffer

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "FEATURE_SET_VERSION",
    "Bar",
    "FeatureSpec",
    "Pushed",
    "CandleBuffer",
    "compute_history",
    "empty_feature_frame",
    "features_markdown",
]
