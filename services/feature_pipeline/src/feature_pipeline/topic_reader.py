"""Reading back parts of the pipeline's topics with a plain consumer (no group, no commits)."""

from __future__ import annotations

import json
import time
import uuid

import structlog
from confluent_kafka import Consumer, TopicPartition

from feature_pipeline.processing import RawCandle, state_key
from tickcast.kafka import consumer_config, topic_partitions, watermark_offsets
from tickcast.settings import KafkaSettings

log = structlog.get_logger(__name__)


def read_range(
    settings: KafkaSettings, topic: str, partition: int, first: int, last: int, timeout_s: float = 30.0
) -> list[RawCandle]:
    """Messages with ``first <= offset < last`` of one partition (committed transactions only)."""
    consumer = Consumer(consumer_config(settings, f"feature-pipeline-reread-{uuid.uuid4().hex[:8]}"))
    messages: list[RawCandle] = []
    try:
        consumer.assign([TopicPartition(topic, partition, first)])
        deadline = time.monotonic() + timeout_s
        position = first
        while position < last and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None:
                low, high = watermark_offsets(consumer, TopicPartition(topic, partition), timeout=5)
                if high <= position:
                    break  # nothing more to read: the rest were control records
                continue
            if message.error():
                continue
            position = message.offset() + 1
            if message.offset() < last:
                messages.append(RawCandle(message.key(), message.value() or b"", partition, message.offset()))
    finally:
        consumer.close()
    log.info("candles re-read", topic=topic, partition=partition, first=first, last=last, found=len(messages))
    return messages


def read_published(settings: KafkaSettings, topic: str, per_partition: int, timeout_s: float = 30.0) -> dict[bytes, int]:
    """The newest vector timestamp per (symbol, interval) among the last ``per_partition``
    messages of each partition of the features topic.

    The bound is exact: vectors not yet stored are at most the batches waiting for the
    store writer, so older ones cannot be published again.
    """
    consumer = Consumer(consumer_config(settings, f"feature-pipeline-tail-{uuid.uuid4().hex[:8]}"))
    try:
        ends = {
            partition: watermark_offsets(consumer, TopicPartition(topic, partition), timeout=timeout_s)
            for partition in topic_partitions(consumer, topic, timeout=timeout_s)
        }
    finally:
        consumer.close()
    published: dict[bytes, int] = {}
    for partition, (low, high) in sorted(ends.items()):
        for message in read_range(settings, topic, partition, max(low, high - per_partition), high, timeout_s):
            try:
                fields = json.loads(message.value)
                key, timestamp = state_key(fields["symbol"], fields["interval"]), int(fields["timestamp_ms"])
            except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
                continue  # not a vector of ours: nothing to deduplicate against
            published[key] = max(published.get(key, -1), timestamp)
    log.info("published vectors read back", topic=topic, symbols=len(published))
    return published
