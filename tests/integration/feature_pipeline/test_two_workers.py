"""Two faust workers share the candles topic: one joins mid-run, then the other leaves.

Scaling the feature pipeline means more workers in the same group (one per partition at most).
Partitions move twice here, with their windows coming back from the changelog each time; the
vectors must still be those of one uninterrupted worker: none missing, none repeated.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import ConsumerGroupState
from confluent_kafka.admin import AdminClient

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
from tickcast.candle_frames import frame_to_candles
from tickcast.contracts import Candle
from tickcast.features import compute_history
from tickcast.settings import KafkaSettings, RedisSettings
from tickcast.topics import Topic, TopicNames

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAY = 1440
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT", "BNBUSDT"]
PHASES = (DAY + 30, DAY + 90, DAY + 150)  # candles per symbol sent by the end of each phase


def _interleaved(candles: list[Candle], start: int, stop: int) -> list[Candle]:
    """Every symbol's candles ``start:stop``, minute by minute, as an exchange feed would be."""
    return [
        candle.model_copy(update={"symbol": symbol}) for candle in candles[start:stop] for symbol in SYMBOLS
    ]


def _members_with_partitions(settings: KafkaSettings, group: str) -> int:
    """Members of the group that hold at least one partition of any topic (a stable group only)."""
    admin = AdminClient(settings.client_config())
    (description,) = [future.result() for future in admin.describe_consumer_groups([group]).values()]
    if description.state != ConsumerGroupState.STABLE:
        return 0
    return sum(1 for member in description.members if member.assignment.topic_partitions)


def test_a_worker_joining_and_another_leaving_changes_no_vector(
    kafka_settings: KafkaSettings,
    topics: TopicNames,
    redis_settings: RedisSettings,  # noqa: ARG001 (points the workers at the test Redis)
    namespace: str,
    tmp_path: Path,
) -> None:
    history = real_klines("BTCUSDT-1m-2024-01-0[1-2].zip").iloc[: PHASES[-1]]
    candles = frame_to_candles(history)
    per_symbol = compute_history(history)
    expected_per_symbol = len(per_symbol)
    group = f"{kafka_settings.topic_prefix}feature-pipeline"
    candles_topic = topics(Topic.CANDLES)

    def env(worker: str) -> dict[str, str]:
        return {**pipeline_env(tmp_path, namespace), "FAUST_DATA_DIR": str(tmp_path / f"faust-{worker}"),
                "FAUST_RECOVERY_STALL_S": "20"}

    def committed() -> int:
        return committed_total(kafka_settings, group, candles_topic, kafka_settings.partitions)

    produce_candles(kafka_settings, candles_topic, _interleaved(candles, 0, PHASES[0]))
    with running_pipeline(env("a"), tmp_path / "a.log") as first:
        wait_for(lambda: committed() == len(SYMBOLS) * PHASES[0], 240, "phase 1 committed by worker a", first)
        with running_pipeline(env("b"), tmp_path / "b.log") as second:
            wait_for(lambda: _members_with_partitions(kafka_settings, group) == 2, 120, "both workers assigned",
                     second)
            produce_candles(kafka_settings, candles_topic, _interleaved(candles, PHASES[0], PHASES[1]))
            wait_for(lambda: committed() == len(SYMBOLS) * PHASES[1], 240, "phase 2 committed by both", second)
            # Its progress line: written at its first batch, then once per LOG_SUMMARY_INTERVAL_S.
            b_batches_while_shared = second.log_path.read_text(errors="replace").count("candles processed")
            first.stop()  # SIGTERM: a clean leave; its partitions move to b
            produce_candles(kafka_settings, candles_topic, _interleaved(candles, PHASES[1], PHASES[2]))
            wait_for(lambda: committed() == len(SYMBOLS) * PHASES[2], 240, "phase 3 committed by worker b", second)
            vectors = read_vectors(kafka_settings, topics(Topic.FEATURES),
                                   expected=len(SYMBOLS) * expected_per_symbol, timeout=60)

    counts = Counter((vector.symbol, vector.timestamp_ms) for vector in vectors)
    repeated = sum(count - 1 for count in counts.values())
    print(f"\nvectors: {len(vectors)} (one worker: {len(SYMBOLS) * expected_per_symbol}), repeated: {repeated}; "
          f"progress lines of the joining worker while both ran: {b_batches_while_shared}")
    assert repeated == 0, "a vector was published twice"
    assert b_batches_while_shared > 0, "the partitions were never shared: the joining worker did nothing"
    for symbol in SYMBOLS:
        mine = [vector for vector in vectors if vector.symbol == symbol]
        assert_features_equal(vectors_frame(mine), per_symbol.assign(symbol=symbol))
