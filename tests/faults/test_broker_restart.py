"""The Kafka broker restarts mid-run, twice (producer mid-feed, then consumers mid-stream): producers and consumers recover by themselves, nothing is lost
or repeated.

Runs last in the session (marker ``broker_restart``). The broker restarted is one of the test's
own, started with the project's script (``infra/kafka/kafka.sh``) under its own state folder and
ports, so tests running at the same time against the shared test broker are not disturbed; it is
stopped before the test returns. Skipped where the project's local Kafka is not what the tests
use (``KAFKA_BOOTSTRAP_SERVERS`` pointing elsewhere, or a container) or is not installed.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from candle_builder.aggregate import build_candles
from support import infra
from support.services import (
    HOUR_MS,
    Stack,
    committed_offsets,
    end_offsets,
    read_all,
    stopped_at_exit,
    wait_until,
)
from tickcast.contracts import Candle, Trade
from tickcast.kafka import ensure_topics
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames


pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.broker_restart]

SYMBOLS = ["BTCUSDT", "SOLUSDT"]
# At full speed: the producer is still sending, and the candle builder far behind, when the broker goes.
# (The paced mode, --speed N, is not used: it can crash on a negative sleep under CPU pressure.)
TRADES_PER_SYMBOL = 150_000


def test_broker_restart_mid_run_loses_and_repeats_nothing(
    own_broker: infra.LocalKafka, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_settings,
    record_property,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", own_broker.bootstrap)
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", namespace)
    monkeypatch.setenv("KAFKA_PARTITIONS", "3")
    settings = KafkaSettings()
    topics = TopicNames(settings)
    ensure_topics(settings, topics.specs())
    start = datetime.fromtimestamp((time.time() * 1000 - 12 * HOUR_MS) // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    stack = Stack(tmp_path, namespace)
    # Inference serves the persistence baseline: no champion is registered.
    builder, pipeline, inference = stack.candle_builder(), stack.feature_pipeline(), stack.inference()
    # The producer's default flush timeout (330 s) outlasts its delivery timeout: no override needed.
    producer = stack.service("trade-producer", "trade_producer", "synthetic", "--symbols", ",".join(SYMBOLS),
                             "--trades", str(TRADES_PER_SYMBOL), "--start", start, "--speed", "max", "--no-progress")
    builder_group, pipeline_group = f"{namespace}candle-builder", f"{namespace}feature-pipeline"
    inference_group = f"{namespace}inference"
    trades_topic, candles_topic = topics(Topic.TRADES), topics(Topic.CANDLES)
    figures: dict[str, object] = {}
    services = [builder, pipeline, inference]

    def total(offsets: dict[int, int]) -> int:
        return sum(offsets.values())

    # What "working again" means for each stage: its output (producer) or its commits (consumers) move on.
    progress = {
        "producer": lambda: total(end_offsets(settings, trades_topic)),
        "candle_builder": lambda: total(committed_offsets(settings, builder_group, trades_topic)),
        "feature_pipeline": lambda: total(committed_offsets(settings, pipeline_group, candles_topic)),
        # Inference commits the candles it scores too; the feature vectors need a day of candles first.
        "inference": lambda: total(committed_offsets(settings, inference_group, candles_topic)),
    }

    def restart_broker(label: str, stages: list[str]) -> None:
        """Restart the broker; record how long it was away and how long each stage took to move on after."""
        before = {stage: progress[stage]() for stage in stages}
        figures[f"{label}_broker_away_s"] = round(own_broker.script("restart"), 1)
        back = time.monotonic()
        waiting = set(stages)

        def everyone_moved_on() -> bool:
            for stage in sorted(waiting):
                if progress[stage]() > before[stage]:
                    figures[f"{label}_{stage}_recovered_s"] = round(time.monotonic() - back, 1)
                    waiting.discard(stage)
            return not waiting

        wait_until(everyone_moved_on, 240, f"every stage to move on after the {label} restart", services, poll=0.2)

    with stopped_at_exit(inference, builder, pipeline, producer):
        builder.start()
        pipeline.start()
        inference.start()
        producer.start()
        # Restart as soon as trades are flowing: the producer is mid-feed, the consumers mid-stream.
        wait_until(lambda: sum(end_offsets(settings, trades_topic).values()) > 0, 180, "the first trades",
                   [producer], poll=0.1)
        figures["trades_before_restart"] = sum(end_offsets(settings, trades_topic).values())
        figures["builder_committed_before_restart"] = sum(committed_offsets(settings, builder_group,
                                                                            trades_topic).values())
        producer.assert_alive()
        restart_broker("first", ["producer", "candle_builder"])
        # Again once the candle builder has committed part of the trades: the consumers mid-stream.
        wait_until(lambda: 0 < sum(committed_offsets(settings, builder_group, trades_topic).values()), 240,
                   "the candle builder's first commit after the restart", [builder, pipeline], poll=0.2)
        figures["builder_committed_before_second_restart"] = sum(committed_offsets(
            settings, builder_group, trades_topic).values())
        # Only the stages with work left can show they move on.
        restart_broker("second", ["candle_builder", "feature_pipeline", "inference"])

        assert producer.wait(300) == 0, producer.log_tail()
        # The command's own total: a delivery that failed during the restart also logs a flush with produced=.
        produced = re.search(r"synthetic finished\s+produced=(\d+)", producer.log_text())
        assert produced and int(produced.group(1)) == len(SYMBOLS) * TRADES_PER_SYMBOL, producer.log_tail()
        trades = read_all(settings, trades_topic, Trade, expected=len(SYMBOLS) * TRADES_PER_SYMBOL, timeout=300)
        for symbol in SYMBOLS:
            ids = [t.trade_id for t in trades if t.symbol == symbol]
            assert ids == list(range(1, TRADES_PER_SYMBOL + 1)), f"{symbol}: trades lost or repeated"
        assert figures["trades_before_restart"] < len(trades), "the restart must land mid-feed"

        expected = {(c.symbol, c.open_time_ms): c for c in build_candles(trades, ["1m"])}

        def candles_complete() -> dict | None:
            candles = read_all(settings, candles_topic, Candle, idle=1.0)
            by_key = {(c.symbol, c.open_time_ms): c for c in candles}
            assert len(by_key) == len(candles), "a candle was repeated"
            return by_key if expected.keys() <= by_key.keys() else None

        candles = wait_until(candles_complete, 240, "the candles of every trade", services)
        builder.stop()

        def pipeline_caught_up() -> bool:
            ends = end_offsets(settings, candles_topic)
            committed = committed_offsets(settings, pipeline_group, candles_topic)
            # The last record of a transactional partition is a commit marker, never delivered.
            return all(committed.get(p, 0) >= end - 1 for p, end in ends.items() if end)

        wait_until(pipeline_caught_up, 180, "the feature pipeline to consume every candle", [pipeline, inference])
        builder_committed = sum(committed_offsets(settings, builder_group, trades_topic).values())
        pipeline.stop()
        assert pipeline.returncode == 0, f"a normal stop of the supervised worker exits 0:\n{pipeline.log_tail()}"

        def inference_caught_up() -> bool:
            ends = end_offsets(settings, candles_topic)
            committed = committed_offsets(settings, inference_group, candles_topic)
            return all(committed.get(p, 0) >= end - 1 for p, end in ends.items() if end)

        wait_until(inference_caught_up, 180, "inference to consume every candle", [inference])
        inference.assert_alive()
        restarts = {s.name: s.log_text().count("restarting from the last commit") for s in (builder, pipeline,
                                                                                              inference)}

    for key, candle in expected.items():
        assert candles[key] == candle, key
    assert builder_committed == len(trades)
    assert figures["builder_committed_before_second_restart"] < len(trades), "the second restart must land mid-stream"
    figures.update(trades=len(trades), reference_trades=len(SYMBOLS) * TRADES_PER_SYMBOL, candles=len(candles),
                   reference_candles=len(expected), restarts=restarts)
    print(f"\nbroker restart: {figures}")
    for name, value in figures.items():
        record_property(name, value)
