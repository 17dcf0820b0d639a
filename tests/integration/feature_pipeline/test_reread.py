"""Candles the stream did not get delivered are re-read from the real topic, not gap-filled."""

from __future__ import annotations

import pytest

from feature_pipeline.processing import (
    RawCandle,
    compute_batch,
    merge_in_order,
    offset_holes,
    parse_batch,
    process_batch,
)
from feature_pipeline.topic_reader import read_range
from integration.feature_pipeline.harness import produce_candles, real_klines
from support.kafka import consume
from tickcast.candle_frames import frame_to_candles
from tickcast.features import compute_history
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

pytestmark = pytest.mark.integration


def test_undelivered_candles_are_read_back_from_the_topic(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    history = real_klines("BTCUSDT-1m-2024-01-0[1-2].zip").iloc[: 1440 + 120]
    produce_candles(kafka_settings, topics(Topic.CANDLES), frame_to_candles(history))
    records = consume(kafka_settings, topics(Topic.CANDLES), expected=len(history))
    messages = [
        RawCandle(r.key, r.value, r.partition, r.offset) for r in sorted(records, key=lambda r: r.offset)
    ]
    before = process_batch(messages[:1450], lambda key: None).states
    delivered = parse_batch(messages[1490:])[0]  # 40 candles never reached the agent

    holes = offset_holes(delivered, before)
    ((partition, (first, last)),) = holes.items()
    recovered = parse_batch(read_range(kafka_settings, topics(Topic.CANDLES), partition, first, last))[0]
    outcome = compute_batch(merge_in_order(delivered, recovered), before.get)

    assert len(recovered) == 40 and outcome.filled == 0
    expected = compute_history(history)
    assert [v.timestamp_ms for v in outcome.vectors] == expected["timestamp_ms"].tolist()[-110:]
    assert outcome.vectors[-1].values == dict(expected.iloc[-1][list(outcome.vectors[-1].values)])
