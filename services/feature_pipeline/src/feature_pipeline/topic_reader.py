"""Re-reading a range of the candles topic with a plain consumer (no group, no commits)."""

from __future__ import annotations

import time
import uuid

import structlog
from confluent_kafka import Consumer, TopicPartition

from feature_pipeline.processing import RawCandle
from tickcast.kafka import consumer_config
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
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=5)
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
