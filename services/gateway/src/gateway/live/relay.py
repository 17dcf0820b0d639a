"""The one Redis subscription of a gateway process, relayed to its WebSocket clients and latest cache.

It reconnects by itself (with backoff) when Redis goes away; ``listening`` tells
whether the subscription is currently confirmed by Redis. The client it is given must
not retry on its own (``retries=0``): a silent reconnection would hide the gap in
which predictions were missed, and the latest cache must hear of every gap.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.live.fanout import PredictionFanout
from gateway.live.latest_cache import LatestPredictions
from gateway.metrics import PREDICTIONS_REFUSED, PREDICTIONS_RELAYED, RELAY_RECONNECTS, WS_MESSAGES_DROPPED
from gateway.backends.documents import with_source
from tickcast.contracts import ContractError, Prediction
from tickcast.rate_limited_log import RateLimitedLog

log = structlog.get_logger(__name__)
# Counted per message (metrics); logged once per kind per interval.
REFUSED_LOG = RateLimitedLog(log, "not a prediction on the channel")
DROPPED_LOG = RateLimitedLog(log, "slow WebSocket clients lost predictions")

_BACKOFF_FIRST_S = 0.2
_BACKOFF_MAX_S = 5.0
_POLL_S = 1.0


class PredictionRelay:
    """Subscribes to the predictions channel; hands each valid Prediction to the fanout and the cache."""

    def __init__(
        self, redis: Redis, channel: str, fanout: PredictionFanout, latest: LatestPredictions
    ) -> None:
        self._redis = redis
        self._channel = channel
        self._fanout = fanout
        self._latest = latest
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="prediction-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()

    async def _run(self) -> None:
        backoff = _BACKOFF_FIRST_S
        while True:
            try:
                await self._listen()
            except (RedisError, OSError) as exc:
                if self.listening.is_set():
                    backoff = _BACKOFF_FIRST_S  # it had worked: start the backoff over
                self.listening.clear()
                RELAY_RECONNECTS.inc()
                log.warning(
                    "prediction channel lost, resubscribing",
                    channel=self._channel,
                    error=str(exc) or type(exc).__name__,
                    retry_in_s=backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self._channel)
            while True:
                message = await pubsub.get_message(timeout=_POLL_S)
                REFUSED_LOG.flush()
                DROPPED_LOG.flush()
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    self.listening.set()
                    self._latest.subscription_up()
                    log.info("listening for predictions", channel=self._channel)
                elif message["type"] == "message":
                    self._relay(message["data"])
        finally:
            self.listening.clear()
            self._latest.subscription_down()
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    def _relay(self, data: bytes) -> None:
        try:
            prediction = Prediction.parse(data)
        except ContractError as exc:
            PREDICTIONS_REFUSED.inc()
            REFUSED_LOG.record(type(exc).__name__, channel=self._channel, reason=str(exc))
            return
        PREDICTIONS_RELAYED.inc()
        data = with_source(data, prediction)  # a publisher older than the field: say "unknown"
        self._latest.offer_published(prediction.symbol, prediction.as_of_ms, data)
        _reached, dropped = self._fanout.deliver(prediction.symbol, data.decode())
        if dropped:
            WS_MESSAGES_DROPPED.inc(dropped)
            DROPPED_LOG.record(prediction.symbol, clients=dropped)
