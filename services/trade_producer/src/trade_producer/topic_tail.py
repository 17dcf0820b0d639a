"""Read back the last trade id per symbol already on the ``trades`` topic.

Each partition is read backwards in growing windows from its end, until every
wanted symbol has been seen or the partition's start is reached; only the
newest record of a symbol matters because its ids grow with the offset.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import orjson
import structlog
from confluent_kafka import Consumer, KafkaError, TopicPartition

from tickcast.kafka import consumer_config, topic_partitions, watermark_offsets
from tickcast.settings import KafkaSettings
from trade_producer.dedupe import HighWaterMarks, IdKind, IdSpace

log = structlog.get_logger(__name__)


def read_high_water_marks(
    settings: KafkaSettings,
    topic: str,
    wanted: Iterable[IdSpace],
    chunk: int = 5_000,
    timeout: float = 30.0,
) -> HighWaterMarks:
    """The last id on ``topic`` for each wanted (symbol, kind); absent ones are left out."""
    missing = set(wanted)
    marks = HighWaterMarks()
    if not missing:
        return marks
    consumer = Consumer(
        consumer_config(
            settings, group_id=f"trade-producer-tail-{uuid.uuid4().hex}", **{"enable.partition.eof": True}
        )
    )
    try:
        for partition in topic_partitions(consumer, topic, timeout=timeout):
            low, high = watermark_offsets(consumer, TopicPartition(topic, partition), timeout=timeout)
            _scan_partition(consumer, topic, partition, low, high, missing, marks, chunk)
    finally:
        consumer.close()
    log.info("dedupe marks read from topic", topic=topic, marks=dict(marks.items()))
    return marks


def _scan_partition(
    consumer: Consumer,
    topic: str,
    partition: int,
    low: int,
    high: int,
    missing: set[IdSpace],
    marks: HighWaterMarks,
    chunk: int,
) -> None:
    end = high
    window = chunk
    while missing and end > low:
        start = max(low, end - window)
        found = _read_range(consumer, topic, partition, start, end, {symbol for symbol, _ in missing})
        for space, trade_id in found.items():
            if space in missing:
                marks.raise_to(space, trade_id)
        missing -= set(found)
        end = start
        window *= 2  # a symbol not seen recently is probably rare here: widen quickly


def _read_range(
    consumer: Consumer, topic: str, partition: int, start: int, end: int, symbols: set[str]
) -> dict[IdSpace, int]:
    """Highest id per (symbol, kind) among records [start, end) of one partition."""
    consumer.assign([TopicPartition(topic, partition, start)])
    newest: dict[IdSpace, int] = {}
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
                space = _id_space_of(key, message.value() or b"")
                if space is not None:
                    newest[space[0]] = max(space[1], newest.get(space[0], -1))
            if message.offset() + 1 >= end:
                return newest
    finally:
        consumer.unassign()


def _id_space_of(symbol: str, value: bytes) -> tuple[IdSpace, int] | None:
    try:
        record = orjson.loads(value)
        kind: IdKind = "agg" if record.get("first_trade_id") is not None else "trade"
        return (symbol, kind), int(record["trade_id"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        # Not ours to judge here; the consumers dead-letter malformed trades.
        return None
