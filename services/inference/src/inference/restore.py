"""Refilling lag windows after an assignment, from the feature vectors just before the committed offsets.

Without this, a model with a lag window of L would be replaced by the baseline
for L - 1 candles of every symbol after each restart or rebalance. The vectors
are read back with a separate, group-less consumer; they are only pushed into
the windows, never predicted again.
"""

from __future__ import annotations

import time
import uuid

import structlog
from confluent_kafka import OFFSET_INVALID, Consumer, TopicPartition

from tickcast.contracts import ContractError, FeatureVector
from tickcast.kafka import committed_offsets, consumer_config, watermark_offsets
from tickcast.settings import KafkaSettings

log = structlog.get_logger(__name__)


def vectors_before_committed(
    kafka: KafkaSettings, group: Consumer, partitions: list[TopicPartition], budget: int, timeout_s: float = 30.0
) -> list[tuple[int, FeatureVector]]:
    """(partition, vector): up to ``budget`` per partition just before ``group``'s committed offsets, in log order."""
    spans = _spans(group, partitions, budget)
    if not spans:
        return []
    reader = Consumer(consumer_config(kafka, f"restore-{uuid.uuid4().hex}", **{"enable.partition.eof": True}))
    try:
        reader.assign([TopicPartition(topic, partition, start) for (topic, partition), (start, _) in spans.items()])
        return _read(reader, spans, timeout_s)
    finally:
        reader.close()


def _spans(group: Consumer, partitions: list[TopicPartition], budget: int) -> dict[tuple[str, int], tuple[int, int]]:
    """(topic, partition) -> (first offset to read, committed offset) for partitions with history."""
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    for committed in committed_offsets(group, partitions):
        if committed.offset == OFFSET_INVALID or committed.offset <= 0:
            continue  # nothing consumed yet by this group: nothing to restore
        low, _high = watermark_offsets(group, committed)
        spans[(committed.topic, committed.partition)] = (max(low, committed.offset - budget), committed.offset)
    return spans


def _read(
    reader: Consumer, spans: dict[tuple[str, int], tuple[int, int]], timeout_s: float
) -> list[tuple[int, FeatureVector]]:
    vectors: list[tuple[int, FeatureVector]] = []
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
                    vectors.append((where[1], FeatureVector.parse(message.value() or b"")))
                except ContractError:
                    pass  # refused when it was first read; nothing to restore from it
    if open_spans:
        log.warning("window restore stopped before the committed offsets", partitions=sorted(open_spans))
    return vectors
