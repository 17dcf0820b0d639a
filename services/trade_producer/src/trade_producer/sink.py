"""The one way trades reach Kafka: deduplicated, keyed by symbol, every delivery checked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import structlog
from confluent_kafka import KafkaError, Message

from tickcast.contracts import Trade, TradeSource
from tickcast.kafka import CheckedProducer
from tickcast.rate_limited_log import RateLimitedLog
from tickcast.settings import KafkaSettings
from trade_producer.columns import TradeColumns
from trade_producer.dedupe import HighWaterMarks, id_space
from trade_producer.encoding import encode_trades
from trade_producer.metrics import (
    DUPLICATES_SKIPPED,
    PRODUCE_LATENCY,
    PRODUCE_QUEUE_FULL_SECONDS,
    TRADES_PRODUCED,
)

log = structlog.get_logger(__name__)
# Skipped ids are counted per symbol (duplicates_skipped_total); the log says so once per interval.
DUPLICATES_LOG = RateLimitedLog(log, "trades skipped: their ids are already on the topic", level="info")

QUEUE_FULL_PAUSE_SECONDS = 0.05  # between tries while librdkafka's queue is full


class BulkProducer(CheckedProducer):
    """A :class:`CheckedProducer` that observes each trade's acknowledgement latency.

    Same configuration and the same delivery accounting; many values of one key go through
    the inherited ``produce_values``, which avoids the per-message overhead of ``produce``.
    """

    def try_produce_timed(self, topic: str, key: bytes, value: bytes) -> bool:
        """Hand one value over and observe its acknowledgement latency; False, at once, on a full queue."""
        return self.try_produce(topic, value, key, on_delivery=_latency_observer())

    def produce_timed(self, topic: str, key: bytes, value: bytes) -> None:
        """Produce one value and observe its acknowledgement latency."""
        self.produce_values(topic, key, [value], on_delivery=_latency_observer())


def _latency_observer() -> Callable[[KafkaError | None, Message], None]:
    """A delivery callback observing the time from now to the message's acknowledgement."""
    handed_over = time.perf_counter()

    def observe(error: KafkaError | None, message: Message) -> None:
        if error is None:
            PRODUCE_LATENCY.observe(time.perf_counter() - handed_over)

    return observe


class TradeSink:
    """Writes trades to the trades topic, skipping any id already produced for its symbol.

    The Kafka message timestamp is left to the producer's clock on purpose: a replay
    of 2021 trades stamped with 2021 times would fall straight out of retention.
    """

    def __init__(
        self, settings: KafkaSettings, topic: str, marks: HighWaterMarks, **producer_overrides: Any
    ) -> None:
        self.topic = topic
        self.marks = marks
        self.producer = BulkProducer(settings, **producer_overrides)
        self.produced = 0
        self.skipped = 0

    @classmethod
    def for_bulk(cls, settings: KafkaSettings, topic: str, marks: HighWaterMarks) -> TradeSink:
        """A sink for replay and synthetic runs, where a callback per success is pure overhead.

        librdkafka still reports every failed message (counted, and ``flush()`` raises),
        and ``flush()`` returns only when no message is left without its report, so
        nothing is lost unseen. Latency is not observed on this path.
        """
        return cls(settings, topic, marks, **{"delivery.report.only.error": True})

    def send(self, trade: Trade) -> bool:
        """Produce one trade unless its id is not new; True when produced."""
        if not self.marks.admit(id_space(trade.symbol, trade.is_aggregate), trade.trade_id):
            self.skipped += 1
            DUPLICATES_SKIPPED.labels(trade.symbol).inc()
            DUPLICATES_LOG.record(trade.symbol, last_trade_id=trade.trade_id)
            return False
        self.producer.produce_timed(self.topic, trade.key, trade.to_json_bytes())
        self.produced += 1
        TRADES_PRODUCED.labels(trade.symbol, trade.source).inc()
        return True

    async def send_async(self, trade: Trade) -> bool:
        """:meth:`send` for an event loop that must never block (the websocket's: its pongs are due).

        When librdkafka's queue is full (the broker is away or slow), this waits in
        ``asyncio.sleep`` steps instead of spinning: the loop keeps answering pings, and the
        caller, which awaits, stops taking new frames; the websocket library's own bounded
        queue holds them meanwhile.
        """
        if not self.marks.admit(id_space(trade.symbol, trade.is_aggregate), trade.trade_id):
            self.skipped += 1
            DUPLICATES_SKIPPED.labels(trade.symbol).inc()
            return False
        await self.hand_over(self.topic, trade.key, trade.to_json_bytes())
        self.produced += 1
        TRADES_PRODUCED.labels(trade.symbol, trade.source).inc()
        return True

    async def hand_over(self, topic: str, key: bytes, value: bytes) -> None:
        """Produce one value without blocking the event loop; waits (asynchronously) for room."""
        if self.producer.try_produce_timed(topic, key, value):
            return
        waited_from = time.perf_counter()
        while not self.producer.try_produce_timed(topic, key, value):
            await asyncio.sleep(QUEUE_FULL_PAUSE_SECONDS)
        PRODUCE_QUEUE_FULL_SECONDS.inc(time.perf_counter() - waited_from)

    def send_columns(self, symbol: str, source: TradeSource, trades: TradeColumns) -> int:
        """Produce the new rows of a validated block, in order; returns how many."""
        return self.produce_encoded(symbol, source, self.encode_new(symbol, source, trades))

    def encode_new(self, symbol: str, source: TradeSource, trades: TradeColumns) -> list[bytes]:
        """The JSON of the rows whose ids are new (they count as produced from here on)."""
        fresh = self.marks.admit_many(id_space(symbol, trades.is_aggregate), trades.trade_id)
        skipped = len(trades) - int(fresh.sum())
        if skipped:
            self.count_skipped(symbol, skipped)
            DUPLICATES_LOG.record(symbol, count=skipped, last_trade_id=int(trades.trade_id[-1]))
            trades = trades.take(fresh)
        return encode_trades(symbol, source, trades)

    def count_skipped(self, symbol: str, count: int) -> None:
        """Count trades left out because their ids are already on the topic."""
        self.skipped += count
        DUPLICATES_SKIPPED.labels(symbol).inc(count)

    def produce_encoded(self, symbol: str, source: TradeSource, values: list[bytes]) -> int:
        """Produce values from :meth:`encode_new`, keyed by ``symbol``, in order."""
        self.producer.produce_values(self.topic, symbol.encode(), values)
        self.produced += len(values)
        TRADES_PRODUCED.labels(symbol, source).inc(len(values))
        return len(values)

    def poll(self) -> None:
        self.producer.poll(0)
        DUPLICATES_LOG.flush()

    def flush(self, timeout: float = 60.0) -> None:
        """Wait for every delivery report; raises ``DeliveryError`` if anything was lost."""
        DUPLICATES_LOG.flush(force=True)
        started = time.perf_counter()
        self.producer.flush(timeout)
        log.info(
            "trades flushed",
            topic=self.topic,
            produced=self.produced,
            skipped_duplicates=self.skipped,
            flush_seconds=round(time.perf_counter() - started, 3),
        )
