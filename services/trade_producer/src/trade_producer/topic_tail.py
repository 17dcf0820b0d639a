"""Read back the last trade per symbol already on the ``trades`` topic.

Each partition is read backwards in growing windows from its end, until every
wanted symbol has been seen or the partition's start is reached; only the
newest record of a symbol matters because its ids grow with the offset. Its id
is the dedupe mark; its time and price are where a synthetic feed resumes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
import structlog
from confluent_kafka import Consumer, KafkaError, TopicPartition

from tickcast.kafka import consumer_config, topic_partitions, watermark_offsets
from tickcast.settings import KafkaSettings
from trade_producer.dedupe import HighWaterMarks, IdKind, IdSpace

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class LastTrade:
    """The newest trade of one (symbol, id kind) on the topic."""

    trade_id: int
    timestamp_ms: int
    price: float
    source: str


def read_high_water_marks(
    settings: KafkaSettings,
    topic: str,
    wanted: Iterable[IdSpace],
    chunk: int = 5_000,
    timeout: float = 30.0,
) -> HighWaterMarks:
    """The last id on ``topic`` for each wanted (symbol, kind); absent ones are left out."""
    marks = HighWaterMarks()
    for space, last in read_last_trades(settings, topic, wanted, chunk, timeout).items():
        marks.raise_to(space, last.trade_id)
    log.info("dedupe marks read from topic", topic=topic, marks=dict(marks.items()))
    return marks


def read_last_trades(
    settings: KafkaSettings,
    topic: str,
    wanted: Iterable[IdSpace],
    chunk: int = 5_000,
    timeout: float = 30.0,
) -> dict[IdSpace, LastTrade]:
    """The newest trade on ``topic`` of each wanted (symbol, kind); absent ones are left out."""
    missing = set(wanted)
    found: dict[IdSpace, LastTrade] = {}
    if not missing:
        return found
    consumer = Consumer(
        consumer_config(
            settings, group_id=f"trade-producer-tail-{uuid.uuid4().hex}", **{"enable.partition.eof": True}
        )
    )
    try:
        for partition in topic_partitions(consumer, topic, timeout=timeout):
            low, high = watermark_offsets(consumer, TopicPartition(topic, partition), timeout=timeout)
            _scan_partition(consumer, topic, partition, low, high, missing, found, chunk)
    finally:
        consumer.close()
    return found


def _scan_partition(
    consumer: Consumer,
    topic: str,
    partition: int,
    low: int,
    high: int,
    missing: set[IdSpace],
    found: dict[IdSpace, LastTrade],
    chunk: int,
) -> None:
    end = high
    window = chunk
    while missing and end > low:
        start = max(low, end - window)
        newest = _read_range(consumer, topic, partition, start, end, {symbol for symbol, _ in missing})
        for space, last in newest.items():
            if space in missing:
                found[space] = last
        missing -= set(newest)
        end = start
        window *= 2  # a symbol not seen recently is probably rare here: widen quickly


def _read_range(
    consumer: Consumer, topic: str, partition: int, start: int, end: int, symbols: set[str]
) -> dict[IdSpace, LastTrade]:
    """The trade of highest id per (symbol, kind) among records [start, end) of one partition."""
    consumer.assign([TopicPartition(topic, partition, start)])
    newest: dict[IdSpace, LastTrade] = {}
    try:
        while True:
            message = consumer.poll(5.0)
            if message is None:
                raise TimeoutError(f"no record from {topic}[{partition}] at offset >= {start}")
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    return newest
                raise RuntimeError(f"reading {topic}[{partition}]: {error}")
            if message.offset() >= end:
                return newest
            key = (message.key() or b"").decode(errors="replace")
            if key in symbols:
                parsed = _last_trade_of(key, message.value() or b"")
                if parsed is not None:
                    space, last = parsed
                    if space not in newest or last.trade_id > newest[space].trade_id:
                        newest[space] = last
            if message.offset() + 1 >= end:
                return newest
    finally:
        consumer.unassign()


def _last_trade_of(symbol: str, value: bytes) -> tuple[IdSpace, LastTrade] | None:
    try:
        record = orjson.loads(value)
        kind: IdKind = "agg" if record.get("first_trade_id") is not None else "trade"
        # The id alone makes the dedupe mark; time and price (0 if absent) only guide a resume.
        last = LastTrade(int(record["trade_id"]), int(record.get("timestamp_ms") or 0),
                         float(record.get("price") or 0.0), str(record.get("source") or ""))
        return (symbol, kind), last
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        # Not ours to judge here; the consumers dead-letter malformed trades.
        return None
