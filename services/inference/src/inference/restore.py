"""Refilling state after an assignment from the topics, the source of truth.

- The feature vectors just before the committed offsets refill the lag windows and close histories.
  Without this, a model with a lag window of L would be replaced by the baseline for L - 1 candles
  of every symbol after each restart or rebalance. They are only pushed into the windows, never
  predicted again.
- The newest predictions (their distribution forecasts) rebuild the live forecast scores.

Both are read with a separate, group-less consumer.
"""

from __future__ import annotations

import time
import uuid

import structlog
from confluent_kafka import OFFSET_INVALID, Consumer, TopicPartition

from collections.abc import Callable
from typing import TypeVar

from tickcast.contracts import ContractError, FeatureVector, Prediction
from tickcast.kafka import consumer_config
from tickcast.settings import KafkaSettings

log = structlog.get_logger(__name__)
T = TypeVar("T")


def vectors_before_committed(
    kafka: KafkaSettings, group: Consumer, partitions: list[TopicPartition], budget: int, timeout_s: float = 30.0
) -> list[tuple[int, FeatureVector]]:
    """(partition, vector): up to ``budget`` per partition just before ``group``'s committed offsets, in log order."""
    spans = _spans(group, partitions, budget)
    return [(partition, vector) for partition, vector in _read_spans(kafka, spans, FeatureVector.parse, timeout_s)]


def newest_predictions(kafka: KafkaSettings, topic: str, budget: int, timeout_s: float = 30.0) -> list[Prediction]:
    """Up to ``budget`` of the newest predictions of every partition of ``topic``, each partition in log order."""
    reader = Consumer(consumer_config(kafka, f"restore-{uuid.uuid4().hex}"))
    try:
        metadata = reader.list_topics(topic, timeout=10).topics.get(topic)
        spans: dict[tuple[str, int], tuple[int, int]] = {}
        for partition in (metadata.partitions if metadata is not None and metadata.error is None else {}):
            low, high = reader.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high > low:
                spans[(topic, partition)] = (max(low, high - budget), high)
    finally:
        reader.close()
    return [prediction for _, prediction in _read_spans(kafka, spans, Prediction.parse, timeout_s)]


def _read_spans(kafka: KafkaSettings, spans: dict[tuple[str, int], tuple[int, int]],
                parse: Callable[[bytes], T], timeout_s: float) -> list[tuple[int, T]]:
    if not spans:
        return []
    reader = Consumer(consumer_config(kafka, f"restore-{uuid.uuid4().hex}", **{"enable.partition.eof": True}))
    try:
        reader.assign([TopicPartition(topic, partition, start) for (topic, partition), (start, _) in spans.items()])
        return _read(reader, spans, parse, timeout_s)
    finally:
        reader.close()


def _spans(group: Consumer, partitions: list[TopicPartition], budget: int) -> dict[tuple[str, int], tuple[int, int]]:
    """(topic, partition) -> (first offset to read, committed offset) for partitions with history."""
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    for committed in group.committed(partitions, timeout=10):
        if committed.offset == OFFSET_INVALID or committed.offset <= 0:
            continue  # nothing consumed yet by this group: nothing to restore
        low, _high = group.get_watermark_offsets(committed, timeout=10)
        spans[(committed.topic, committed.partition)] = (max(low, committed.offset - budget), committed.offset)
    return spans


def _read(
    reader: Consumer, spans: dict[tuple[str, int], tuple[int, int]], parse: Callable[[bytes], T], timeout_s: float
) -> list[tuple[int, T]]:
    vectors: list[tuple[int, T]] = []
    open_spans = set(spans)
    deadline = time.monotonic() + timeout_s
    while open_spans and time.monotonic() < deadline:
        for message in reader.consume(1000, timeout=0.5):
            where = (message.topic() or "", message.partition() or 0)
            error = message.error()
            offset = message.offset() or 0
            if error is not None or offset >= spans[where][1] - 1:
                open_spans.discard(where)  # end of the log, or of the span (commit markers take offsets)
            if error is None and offset < spans[where][1]:
                try:
                    vectors.append((where[1], parse(message.value() or b"")))
                except ContractError:
                    pass  # refused when it was first read; nothing to restore from it
    if open_spans:
        log.warning("window restore stopped before the committed offsets", partitions=sorted(open_spans))
    return vectors
