"""SIGKILL the feature pipeline after it published a batch's vectors but before it stored them.

The store write is made to hang by pausing writes on the test's own Redis (the online store),
so the worker is killed exactly in that window. After the restart the batch's candles are
processed again (their offsets were never committed); their vectors must be stored, and must
not reach the features topic a second time.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
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
from support.kafka import consume
from tickcast.candle_frames import frame_to_candles
from tickcast.contracts import FeatureVector
from tickcast.features import compute_history
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAY = 1440
WARM = DAY + 60  # 24 completed hours, then an hour of vectors
HUNG = 30  # candles whose vectors are published while the store hangs


def test_a_crash_between_publishing_and_storing_repeats_no_vector(
    kafka_settings: KafkaSettings, topics: TopicNames, namespace: str, own_redis, tmp_path: Path  # noqa: ANN001
) -> None:
    history = real_klines("BTCUSDT-1m-2024-01-0[1-2].zip").iloc[: WARM + HUNG + 30]
    candles = frame_to_candles(history)
    expected = compute_history(history)
    env = {**pipeline_env(tmp_path, namespace), "REDIS_URL": own_redis.url, "FEATURE_BATCH_MAX": "10"}
    group = f"{kafka_settings.topic_prefix}feature-pipeline"
    features = topics(Topic.FEATURES)

    def published() -> list[FeatureVector]:
        return [FeatureVector.parse(r.value) for r in consume(kafka_settings, features, timeout=10, idle=1.0)]

    produce_candles(kafka_settings, topics(Topic.CANDLES), candles[:WARM])
    client = redis.Redis.from_url(own_redis.url)
    with running_pipeline(env, tmp_path / "first.log") as first:
        wait_for(lambda: committed_total(kafka_settings, group, topics(Topic.CANDLES), 3) == WARM, 240,
                 "the warm-up committed", first)
        before = len(published())
        client.client_pause(60_000, all=False)  # writes hang: the store write blocks after publishing
        try:
            produce_candles(kafka_settings, topics(Topic.CANDLES), candles[WARM : WARM + HUNG])
            wait_for(lambda: len(published()) >= before + HUNG, 120, "the hung batch's vectors published", first)
            assert committed_total(kafka_settings, group, topics(Topic.CANDLES), 3) == WARM, (
                "the hung batch must not be committed before it is stored")
            first.kill()
        finally:
            client.client_unpause()

    produce_candles(kafka_settings, topics(Topic.CANDLES), candles[WARM + HUNG :])
    with running_pipeline(env, tmp_path / "second.log") as second:
        vectors = read_vectors(kafka_settings, features, expected=len(expected), timeout=240)
        wait_for(lambda: committed_total(kafka_settings, group, topics(Topic.CANDLES), 3) == len(candles), 120,
                 "every candle committed", second)

    timestamps = [vector.timestamp_ms for vector in vectors]
    repeated = len(timestamps) - len(set(timestamps))
    print(f"\nvectors published: {len(vectors)} (uninterrupted run: {len(expected)}), repeated: {repeated}; "
          f"{HUNG} vectors were published before the kill and not stored")
    assert repeated == 0, "a vector was published twice"
    assert_features_equal(vectors_frame(vectors), expected)
    # The hung batch was stored after the restart, in both stores.
    from tickcast.store.feast_store import FeastFeatureStore

    store = FeastFeatureStore(tmp_path / "feast", namespace.strip("-").replace("-", "_"), own_redis.url)
    assert_features_equal(store.read_offline(["BTCUSDT"], "1m", 0, 2**62), expected)
    online = store.read_online(["BTCUSDT"], "1m")["BTCUSDT"]
    assert online.timestamp_ms == int(expected["timestamp_ms"].max())
