"""SIGKILL each streaming stage of a running pipeline, restart it: the outputs equal an uninterrupted run.

Each service's own integration tests kill it alone; this is the pipeline-level version. A day
of trades flows through the candle builder, the feature pipeline and inference (serving the
persistence baseline: no champion is registered), and each of the three is killed once, as
soon as it has committed some of its work, and restarted. The uninterrupted reference is computed by the batch functions:
``build_candles`` over the trades, ``compute_history`` over those candles, and one baseline
prediction per feature vector.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from candle_builder.aggregate import build_candles
from support.kafka import consume
from support.services import (
    HOUR_MS,
    Stack,
    committed_offsets,
    history_trades,
    hour_floor,
    produce,
    read_all,
    stopped_at_exit,
    wait_until,
)
from tickcast.candle_frames import candles_to_frame
from tickcast.contracts import Candle, FeatureVector, Prediction
from tickcast.features import FEATURE_NAMES, compute_history
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SYMBOLS = ["BTCUSDT", "XRPUSDT", "SOLUSDT"]
MINUTES = 24 * 60 + 40


def test_killing_each_stage_mid_stream_loses_and_repeats_nothing(
    kafka_settings: KafkaSettings, topics: TopicNames, redis_settings, namespace: str, tmp_path: Path,
    record_property,
) -> None:
    start_ms = hour_floor(int(time.time() * 1000)) - 27 * HOUR_MS
    trades = history_trades(SYMBOLS, start_ms, MINUTES, seed=23)
    stack = Stack(tmp_path, namespace)
    builder, pipeline, inference = stack.candle_builder(), stack.feature_pipeline(), stack.inference()
    trades_topic, candles_topic = topics(Topic.TRADES), topics(Topic.CANDLES)
    builder_group, pipeline_group = f"{namespace}candle-builder", f"{namespace}feature-pipeline"
    figures: dict[str, object] = {}

    with stopped_at_exit(builder, pipeline, inference):
        builder.start()
        pipeline.start()
        inference.start()

        # All trades at once: a pause in the feed would let the builder's idle clock close (gap-fill)
        # the windows of trades still to come, which an uninterrupted run would not do either.
        produce(kafka_settings, trades_topic, trades)

        # 1. The candle builder, killed right after its first checkpoint, with trades still unread.
        wait_until(lambda: sum(committed_offsets(kafka_settings, builder_group, trades_topic).values()) > 0,
                   180, "the candle builder's first commit", [builder], poll=0.05)
        builder.kill()
        figures["builder_committed_at_kill"] = sum(committed_offsets(kafka_settings, builder_group,
                                                                     trades_topic).values())
        figures["trades"] = len(trades)
        builder.start()

        # 2. The feature pipeline, killed once it has committed candles, while more keep coming.
        wait_until(lambda: sum(committed_offsets(kafka_settings, pipeline_group, candles_topic).values()) > 0,
                   240, "the feature pipeline's first commit", [builder, pipeline], poll=0.1)
        pipeline.kill()
        figures["pipeline_committed_at_kill"] = sum(committed_offsets(kafka_settings, pipeline_group,
                                                                      candles_topic).values())
        figures["candles_at_pipeline_kill"] = consume_count(kafka_settings, candles_topic)
        pipeline.start()

        # 3. Inference, killed once it has published predictions.
        wait_until(lambda: consume_count(kafka_settings, topics(Topic.PREDICTIONS)) > 0, 300,
                   "the first predictions", [builder, pipeline, inference])
        inference.kill()
        figures["predictions_at_inference_kill"] = consume_count(kafka_settings, topics(Topic.PREDICTIONS))
        inference.start()

        expected_candles = {(c.symbol, c.open_time_ms): c for c in build_candles(trades, ["1m"])}
        reference = compute_history(candles_to_frame(expected_candles.values()))
        wanted = {(row.symbol, int(row.timestamp_ms)) for row in reference.itertuples()}
        assert len(wanted) == len(SYMBOLS) * (MINUTES - 24 * 60)

        def vectors_cover_reference() -> bool:
            vectors = read_all(kafka_settings, topics(Topic.FEATURES), FeatureVector, idle=1.0)
            return wanted <= {(v.symbol, v.timestamp_ms) for v in vectors}

        wait_until(vectors_cover_reference, 300, "every reference feature vector", [builder, pipeline, inference])
        # Stop the head of the stream (its idle clock adds gap fills), let inference finish the rest.
        builder.stop()
        pipeline.stop()
        vectors = read_all(kafka_settings, topics(Topic.FEATURES), FeatureVector)
        vector_keys = {(v.symbol, v.timestamp_ms) for v in vectors}

        def predictions_cover_vectors() -> list[Prediction] | None:
            predictions = read_all(kafka_settings, topics(Topic.PREDICTIONS), Prediction, idle=1.0)
            return predictions if vector_keys <= {(p.symbol, p.as_of_ms) for p in predictions} else None

        wait_until(predictions_cover_vectors, 180, "a prediction per vector", [inference])
        inference.stop()
        candles = read_all(kafka_settings, candles_topic, Candle)
        predictions = read_all(kafka_settings, topics(Topic.PREDICTIONS), Prediction)

    # Candles: none lost, none repeated, each equal to the batch aggregation.
    by_key = {(c.symbol, c.open_time_ms): c for c in candles}
    assert len(by_key) == len(candles), "a candle was repeated"
    for key, candle in expected_candles.items():
        assert by_key.get(key) == candle, key
    trailing = [c for key, c in by_key.items() if key not in expected_candles]
    assert all(c.is_gap_fill for c in trailing), "only idle gap fills may follow the last trades"

    # Feature vectors: exactly one per ready candle, equal to the batch features.
    assert len(vector_keys) == len(vectors), "a feature vector was repeated"
    assert wanted <= vector_keys
    assert all(by_key[key].is_gap_fill for key in vector_keys - wanted)
    vector_by_key = {(v.symbol, v.timestamp_ms): v for v in vectors}
    for row in reference.itertuples():
        vector = vector_by_key[(row.symbol, int(row.timestamp_ms))]
        for name in FEATURE_NAMES:
            assert vector.values[name] == pytest.approx(getattr(row, name), rel=1e-9, abs=1e-9), name

    # Predictions: exactly one per vector, the baseline's (return 0, the vector's close).
    prediction_keys = [(p.symbol, p.as_of_ms) for p in predictions]
    assert len(prediction_keys) == len(set(prediction_keys)), "a prediction was repeated"
    assert set(prediction_keys) == vector_keys
    for prediction in predictions:
        assert prediction.predicted_return == 0.0
        assert prediction.predicted_price == by_key[(prediction.symbol, prediction.as_of_ms)].close

    figures.update(candles=len(candles), reference_candles=len(expected_candles),
                   vectors=len(vectors), reference_vectors=len(wanted), predictions=len(predictions),
                   restarts={s.name: s.starts - 1 for s in (builder, pipeline, inference)})
    print(f"\nkill stages: {figures}")
    for name, value in figures.items():
        record_property(name, value)


def consume_count(settings: KafkaSettings, topic: str) -> int:
    """Committed (read_committed) messages on a topic, counted by reading it."""
    return len(consume(settings, topic, timeout=5, idle=0.5))
