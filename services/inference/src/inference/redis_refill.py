"""Redis is a cache of the predictions topic: its outage must not stop the topic.

While Redis does not answer, batches wait in a bounded backlog (the oldest are
dropped first; the topic still has them) and the loop goes on publishing to
Kafka. Once Redis answers again, the backlog is written in order before the
next batch. Every write is idempotent, so a batch written twice changes nothing.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Sequence

import redis
import structlog

from tickcast.contracts import Candle, Prediction

from inference import metrics
from inference.distribution_scoring import ForecastLiveScore
from inference.model import ServedModel
from inference.redis_store import RedisStore
from inference.scoring import LiveScore

log = structlog.get_logger(__name__)

_Batch = tuple[list[Prediction], list[Candle], list[LiveScore], list[ForecastLiveScore], list[Prediction], str | None]


class RefillingRedisWriter:
    def __init__(self, store: RedisStore, max_batches: int, retry_seconds: float) -> None:
        self._store = store
        self._backlog: deque[_Batch] = deque(maxlen=max_batches)
        self._served: ServedModel | None = None  # announced while Redis was away
        self._forecasters: dict[str, object] | None = None  # the forecaster set, likewise
        self._retry_seconds = retry_seconds
        self._retry_at = 0.0
        self._down_since: float | None = None
        self._last_new = 0

    @property
    def backlog(self) -> int:
        return len(self._backlog)

    def write_batch(
        self, predictions: Sequence[Prediction], candles: Iterable[Candle], scores: Iterable[LiveScore],
        forecast_scores: Iterable[ForecastLiveScore] = (), shadow: Sequence[Prediction] = (),
        leaderboard: str | None = None,
    ) -> int:
        """Write this batch (after any backlog); return how many predictions were new, 0 if Redis is away."""
        if len(self._backlog) == self._backlog.maxlen:
            metrics.REDIS_BACKLOG_DROPPED.inc()
        self._backlog.append((list(predictions), list(candles), list(scores), list(forecast_scores), list(shadow),
                              leaderboard))
        if not self._flush():
            return 0
        return self._last_new

    def write_served_model(self, served: ServedModel) -> None:
        self._served = served
        self._flush()

    def write_forecasters(self, summary: dict[str, object]) -> None:
        self._forecasters = summary
        self._flush()

    def _flush(self) -> bool:
        if self._down_since is not None and time.monotonic() < self._retry_at:
            metrics.REDIS_BACKLOG.set(len(self._backlog))
            return False
        try:
            if self._served is not None:
                self._store.write_served_model(self._served)
                self._served = None
            if self._forecasters is not None:
                self._store.write_forecasters(self._forecasters)
                self._forecasters = None
            refilled = len(self._backlog) - 1
            self._last_new = 0
            while self._backlog:
                predictions, candles, scores, forecast_scores, shadow, leaderboard = self._backlog[0]
                self._last_new = self._store.write_batch(predictions, candles, scores, forecast_scores,
                                                         shadow=shadow, leaderboard=leaderboard)
                self._backlog.popleft()
        except redis.RedisError as error:
            if self._down_since is None:
                self._down_since = time.monotonic()
                log.error("redis unavailable: predictions keep flowing to Kafka, Redis is refilled when it returns",
                          error=str(error))
            metrics.REDIS_WRITE_FAILURES.inc()
            metrics.REDIS_BACKLOG.set(len(self._backlog))
            self._retry_at = time.monotonic() + self._retry_seconds
            return False
        if self._down_since is not None:
            log.info("redis is back: backlog written", batches=refilled,
                     down_seconds=round(time.monotonic() - self._down_since, 1))
            self._down_since = None
        metrics.REDIS_BACKLOG.set(0)
        return True
