"""The last few feature vectors of each symbol, for models that look back over a lag window."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from tickcast.contracts import FeatureVector


class FeatureWindows:
    """Per-symbol run of consecutive vectors, at most ``capacity`` long.

    A window must be contiguous in time and in feature set: a gap (a missed or
    refused candle), a step backwards or a new feature-set version starts the
    run again, so a model never sees a window with a hole in it.
    """

    def __init__(self, interval_ms: int, capacity: int = 1) -> None:
        self._interval_ms = interval_ms
        self._capacity = max(1, capacity)
        self._runs: dict[str, deque[FeatureVector]] = {}

    @property
    def capacity(self) -> int:
        return self._capacity

    def resize(self, capacity: int) -> None:
        """Keep the newest ``capacity`` vectors of each run (a new model may look further back)."""
        self._capacity = max(1, capacity)
        self._runs = {symbol: deque(run, maxlen=self._capacity) for symbol, run in self._runs.items()}

    def push(self, vector: FeatureVector) -> list[FeatureVector]:
        """Append ``vector`` to its symbol's run; return the run ending with it, oldest first."""
        run = self._runs.get(vector.symbol)
        if run is None or not self._continues(run[-1], vector):
            run = deque(maxlen=self._capacity)
            self._runs[vector.symbol] = run
        run.append(vector)
        return list(run)

    def forget(self, symbols: Iterable[str]) -> None:
        """Drop runs of symbols this instance no longer owns (their partitions moved)."""
        for symbol in symbols:
            self._runs.pop(symbol, None)

    def forget_all(self) -> None:
        self._runs.clear()

    def _continues(self, last: FeatureVector, vector: FeatureVector) -> bool:
        return (
            vector.timestamp_ms == last.timestamp_ms + self._interval_ms
            and vector.feature_set_version == last.feature_set_version
        )
