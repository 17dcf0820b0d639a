"""The faust worker against the real broker, Redis and a Feast repository in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.feature_pipeline.harness import (
    assert_features_equal,
    committed_total,
    pipeline_env,
    produce_candles,
    read_vectors,
    real_klines,
    running_pipeline,
    vectors_frame,
    wait_for,
)
from support.kafka import consume, produce_raw
from tickcast.candle_frames import frame_to_candles
from tickcast.contracts import DeadLetter
from tickcast.features import FEATURE_SET_VERSION, compute_history
from tickcast.settings import KafkaSettings, RedisSettings
from tickcast.topics import Topic, TopicNames

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SYMBOL = "BTCUSDT"
DAY = 1440


def _feast_store(tmp_path: Path, namespace: str, redis_settings: RedisSettings):  # noqa: ANN202
    from tickcast.store.feast_store import FeastFeatureStore

    return FeastFeatureStore(tmp_path / "feast", namespace.strip("-").replace("-", "_"), redis_settings.url)


def test_stream_equals_batch_on_real_candles_and_fills_both_stores(
    kafka_settings: KafkaSettings,
    topics: TopicNames,
    redis_settings: RedisSettings,
    namespace: str,
    tmp_path: Path,
) -> None:
    history = real_klines("BTCUSDT-1m-2024-01-0[1-2].zip")
    candles = frame_to_candles(history)
    expected = compute_history(history)
    assert len(expected) == DAY  # the first day is warm-up for the hourly averages

    produce_candles(kafka_settings, topics(Topic.CANDLES), candles[:DAY])
    produce_raw(
        kafka_settings, topics(Topic.CANDLES), [(SYMBOL.encode(), b'{"symbol": "BTCUSDT", "open": -1}')]
    )
    produce_candles(kafka_settings, topics(Topic.CANDLES), candles[DAY - 1 :])  # one duplicate, then day 2

    with running_pipeline(pipeline_env(tmp_path, namespace), tmp_path / "worker.log") as worker:
        vectors = read_vectors(kafka_settings, topics(Topic.FEATURES), expected=DAY, timeout=180)
        assert len(vectors) == DAY, worker.log_tail()
        group = f"{kafka_settings.topic_prefix}feature-pipeline"
        wait_for(
            lambda: committed_total(kafka_settings, group, topics(Topic.CANDLES), 3) == len(candles) + 2,
            60,
            "every candle committed",
            worker,
        )

    assert {v.feature_set_version for v in vectors} == {FEATURE_SET_VERSION}
    by_time = {v.timestamp_ms: v for v in vectors}
    closes = history.set_index("open_time_ms")["close"]
    assert all(by_time[t].close == closes[t] for t in by_time)
    assert_features_equal(vectors_frame(vectors), expected)

    (letter,) = [
        DeadLetter.parse(r.value) for r in consume(kafka_settings, topics.dlq(Topic.CANDLES), expected=1)
    ]
    assert letter.source_topic == topics(Topic.CANDLES) and letter.service == "feature_pipeline"
    assert "open" in letter.reason and letter.payload.startswith('{"symbol"')

    store = _feast_store(tmp_path, namespace, redis_settings)
    online = store.read_online([SYMBOL, "ETHUSDT"], "1m")
    assert list(online) == [SYMBOL]
    newest = expected.iloc[-1]
    assert online[SYMBOL].timestamp_ms == newest["timestamp_ms"] and online[SYMBOL].close == newest["close"]
    assert online[SYMBOL].values == by_time[int(newest["timestamp_ms"])].values
    offline = store.read_offline([SYMBOL], "1m", 0, 2**62)
    assert offline["timestamp_ms"].is_unique and offline["symbol"].eq(SYMBOL).all()
    assert_features_equal(offline, expected)


def test_sigkill_and_restart_resume_from_the_changelog_and_emit_exactly_the_same_vectors(
    kafka_settings: KafkaSettings,
    topics: TopicNames,
    redis_settings: RedisSettings,
    namespace: str,
    tmp_path: Path,
) -> None:
    history = real_klines("BTCUSDT-1m-2024-01-0[1-2].zip")
    candles = frame_to_candles(history)
    expected = compute_history(history)
    before_kill = DAY + DAY // 2
    env = pipeline_env(tmp_path, namespace)
    group = f"{kafka_settings.topic_prefix}feature-pipeline"

    produce_candles(kafka_settings, topics(Topic.CANDLES), candles[:before_kill])
    with running_pipeline(env, tmp_path / "first.log") as first:
        wait_for(
            lambda: committed_total(kafka_settings, group, topics(Topic.CANDLES), 3) == before_kill,
            180,
            "the first half committed",
            first,
        )
        first.kill()

    produce_candles(kafka_settings, topics(Topic.CANDLES), candles[before_kill:])
    with running_pipeline(env, tmp_path / "second.log") as second:
        vectors = read_vectors(kafka_settings, topics(Topic.FEATURES), expected=DAY, timeout=180)
        assert len(vectors) >= DAY, second.log_tail()

    # Exactly the uninterrupted run's vectors: none missing (the windows came back from the
    # changelog, otherwise a day of warm-up would be missing), none repeated, same values.
    assert len(vectors) == DAY
    assert_features_equal(vectors_frame(vectors), expected)
    offline = _feast_store(tmp_path, namespace, redis_settings).read_offline(["BTCUSDT"], "1m", 0, 2**62)
    assert_features_equal(offline, expected)
