"""Puts symbol requests on the ``symbol-requests`` topic, where the trade producer picks them up.

Only the live feed listens there. Before producing, the broker is asked whether the listener's
consumer group has a member: with none (a replay or a synthetic feed, or no producer running),
the request is refused with the reason rather than left on a topic nobody reads.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from tickcast.control import SymbolRequest, symbol_request_group
from tickcast.kafka import CheckedProducer, DeliveryError
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

log = structlog.get_logger(__name__)


class RequestNotDelivered(RuntimeError):
    """The broker did not acknowledge the request in time."""


class NoListener(RuntimeError):
    """No trade producer listens on the topic: the request would never be followed."""


class SymbolRequester:
    """Produces one SymbolRequest per call and waits for the broker's acknowledgement.

    The request is rare and a caller wants to know it landed, so each one is flushed
    (in a worker thread: librdkafka's flush blocks). A lock keeps concurrent calls from
    reading each other's delivery reports.
    """

    def __init__(self, settings: KafkaSettings, timeout_s: float) -> None:
        self._settings = settings
        self._topic = TopicNames(settings)(Topic.SYMBOL_REQUESTS)
        self._timeout_s = timeout_s
        self._producer: CheckedProducer | None = None
        self._admin: AdminClient | None = None
        self._group = symbol_request_group(settings.topic_prefix)
        self._lock = asyncio.Lock()

    @property
    def topic(self) -> str:
        return self._topic

    def _connected_producer(self) -> CheckedProducer:
        # Created on first use: a gateway that never receives a request never dials the broker.
        if self._producer is None:
            timeout_ms = max(1, int(self._timeout_s * 1000))
            self._producer = CheckedProducer(
                self._settings,
                **{
                    "delivery.timeout.ms": timeout_ms,
                    "request.timeout.ms": min(timeout_ms, 30_000),
                    "linger.ms": 0,
                },
            )
        return self._producer

    async def request(self, symbol: str, lookback_minutes: int | None) -> SymbolRequest:
        message = SymbolRequest(
            symbol=symbol,
            requested_at_ms=int(time.time() * 1000),
            lookback_minutes=lookback_minutes,
        )
        async with self._lock:
            try:
                await asyncio.to_thread(self._check_listener, symbol)
                await asyncio.to_thread(self._send_and_flush, message)
            except (DeliveryError, KafkaException) as exc:
                log.error("symbol request not delivered", symbol=symbol, topic=self._topic, error=str(exc))
                raise RequestNotDelivered(
                    f"Kafka did not acknowledge the request for {symbol!r}: {exc}"
                ) from exc
        log.info("symbol requested", symbol=symbol, topic=self._topic, lookback_minutes=lookback_minutes)
        return message

    def _check_listener(self, symbol: str) -> None:
        if self._admin is None:
            self._admin = AdminClient(self._settings.client_config())
        futures = self._admin.describe_consumer_groups([self._group], request_timeout=self._timeout_s)
        description = futures[self._group].result()
        if not description.members:
            raise NoListener(
                f"no trade producer takes symbol requests now, so {symbol!r} would never appear: the consumer "
                f"group {self._group!r} of {self._topic!r} has no member. Only the live feed (make live) follows "
                "new symbols; a replay or synthetic feed streams the symbols it was started with (SYMBOLS)."
            )

    def _send_and_flush(self, message: SymbolRequest) -> None:
        producer = self._connected_producer()
        producer.send(self._topic, message)
        # A little over the delivery timeout, so librdkafka reports the failure before we give up.
        producer.flush(self._timeout_s + 1.0)

    def close(self) -> None:
        if self._producer is None:
            return
        try:
            self._producer.flush(self._timeout_s)
        except DeliveryError as exc:
            log.warning("symbol requests left undelivered at shutdown", error=str(exc))
