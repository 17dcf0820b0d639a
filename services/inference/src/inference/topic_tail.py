"""Reading back the recent candles and predictions from their topics, the source of truth of what Redis serves.

Redis may come back empty (a restart without its files, a FLUSH) and the live scores live in
memory: both are rebuilt from the last ``budget`` messages of each partition, read with
``read_committed`` by a group-less consumer, so nothing is committed and no group moves.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import structlog
from confluent_kafka import Consumer, KafkaError, TopicPartition

from tickcast.contracts import Candle, ContractError, Prediction
from tickcast.kafka import consumer_config
from tickcast.settings import KafkaSettings

log = structlog.get_logger(__name__)


@dataclass
class RecentHistory:
    """What the tails held, in log order per partition."""

    candles: list[Candle] = field(default_factory=list)
    predictions: list[Prediction] = field(default_factory=list)
    challenger_predictions: list[Prediction] = field(default_factory=list)

    @property
    def symbols(self) -> set[str]:
        return {candle.symbol for candle in self.candles} | {p.symbol for p in self.predictions}


def read_recent_history(
    kafka: KafkaSettings,
    candles_topic: str,
    candle_partitions: list[int],
    predictions_topic: str,
    budget: int,
    timeout_s: float = 60.0,
    challengers_topic: str | None = None,
) -> RecentHistory:
    """The last ``budget`` messages of the given candles partitions and of the predictions topic.

    Predictions are kept only for the symbols of those candle partitions: an instance rebuilds
    what it serves, not what another instance of the group serves. With ``challengers_topic``, the
    challengers' predictions are read back the same way (into ``challenger_predictions``).
    """
    history = RecentHistory()
    if not candle_partitions or budget <= 0:
        return history
    reader = Consumer(consumer_config(kafka, f"rebuild-{uuid.uuid4().hex}", **{"enable.partition.eof": True}))
    try:
        metadata = reader.list_topics(predictions_topic, timeout=10).topics[predictions_topic]
        wanted = [TopicPartition(candles_topic, p) for p in candle_partitions]
        wanted += [TopicPartition(predictions_topic, p) for p in sorted(metadata.partitions)]
        if challengers_topic is not None:
            found = reader.list_topics(challengers_topic, timeout=10).topics.get(challengers_topic)
            partitions = sorted(found.partitions) if found is not None and found.error is None else []
            wanted += [TopicPartition(challengers_topic, p) for p in partitions]
        spans: dict[tuple[str, int], int] = {}  # (topic, partition) -> offset one past the last to read
        starts: list[TopicPartition] = []
        for tp in wanted:
            low, high = reader.get_watermark_offsets(tp, timeout=10)
            if high > low:
                spans[(tp.topic, tp.partition)] = high
                starts.append(TopicPartition(tp.topic, tp.partition, max(low, high - budget)))
        if starts:
            reader.assign(starts)
            _read(reader, spans, candles_topic, challengers_topic, history, timeout_s)
    finally:
        reader.close()
    symbols = {candle.symbol for candle in history.candles}
    history.predictions = [p for p in history.predictions if p.symbol in symbols]
    history.challenger_predictions = [p for p in history.challenger_predictions if p.symbol in symbols]
    return history


def _read(reader: Consumer, spans: dict[tuple[str, int], int], candles_topic: str, challengers_topic: str | None,
          history: RecentHistory, timeout_s: float) -> None:
    open_spans = set(spans)
    deadline = time.monotonic() + timeout_s
    while open_spans and time.monotonic() < deadline:
        for message in reader.consume(1000, timeout=0.5):
            where = (message.topic() or "", message.partition() or 0)
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    open_spans.discard(where)
                continue
            offset = message.offset() or 0
            if offset >= spans[where] - 1:
                open_spans.discard(where)  # the end as it was when we started (commit markers take offsets)
            if offset >= spans[where]:
                continue
            try:
                if where[0] == candles_topic:
                    history.candles.append(Candle.parse(message.value() or b""))
                elif where[0] == challengers_topic:
                    history.challenger_predictions.append(Prediction.parse(message.value() or b""))
                else:
                    history.predictions.append(Prediction.parse(message.value() or b""))
            except ContractError:
                pass  # refused when it was first read; nothing to rebuild from it
    if open_spans:
        log.warning("rebuild from the topics stopped before their end", partitions=sorted(open_spans))
