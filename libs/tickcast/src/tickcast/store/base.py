"""The feature store seen by every caller: one small interface, two adapters.

Rows are keyed by ``(symbol, interval, timestamp_ms)``; writing the same key
twice leaves one row (the last written), so a replay never duplicates anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import pandas as pd

from tickcast.contracts import FeatureVector

# Columns every offline frame starts with, before one column per feature.
KEY_COLUMNS = ("symbol", "interval", "timestamp_ms")
META_COLUMNS = ("feature_set_version", "close")


@runtime_checkable
class FeatureStore(Protocol):
    """Online (latest vector per symbol) and offline (history) feature storage."""

    def write(self, vectors: Sequence[FeatureVector]) -> None:
        """Idempotent upsert of vectors into the online and the offline store.

        Raises on failure; the caller commits its input only after this returned.
        """
        ...

    def write_history(self, frame: pd.DataFrame) -> None:
        """Idempotent upsert of a feature frame (columns as :meth:`read_offline` returns them)
        into the offline store only: the backfill's bulk path.
        """
        ...

    def read_online(self, symbols: Sequence[str], interval: str) -> dict[str, FeatureVector]:
        """The newest vector of each symbol; symbols without one are absent."""
        ...

    def read_offline(self, symbols: Sequence[str], interval: str, start_ms: int, end_ms: int) -> pd.DataFrame:
        """Vectors with ``start_ms <= timestamp_ms < end_ms``, one row per symbol and timestamp.

        Columns: ``symbol, interval, timestamp_ms, feature_set_version, close`` then one per
        feature; sorted by symbol then time. Reads by key range, no join: cheap for years of rows.
        """
        ...

    def point_in_time(self, entity_df: pd.DataFrame) -> pd.DataFrame:
        """Point-in-time join: for each row (``symbol, interval, event_timestamp``) the features
        of the newest vector whose timestamp is not after ``event_timestamp`` (never a later one).
        """
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...
