"""The Kafka broker restarts mid-run, twice (producer mid-feed, then consumers mid-stream): producers and consumers recover by themselves, nothing is lost
or repeated.

Runs last in the session (marker ``broker_restart``). The broker restarted is one of the test's
own, started with the project's script (``infra/kafka/kafka.sh``) under its own state folder and
ports, so tests running at the same time against the shared test broker are not disturbed; it is
stopped before the test returns. Skipped where the project's local Kafka is not what the tests
use (``KAFKA_BOOTSTRAP_SERVERS`` pointing elsewhere, or a container) or is not installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
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
    free_port,
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


class LocalKafka:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.controller_port = free_port()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def script(self, action: str) -> float:
        """Run ``kafka.sh <action>``; returns how long it took."""
        env = {**os.environ, "TICKCAST_HOME": str(self.home), "KAFKA_PORT": str(self.port),
               "KAFKA_CONTROLLER_PORT": str(self.controller_port), "KAFKA_HEAP_OPTS": "-Xms128m -Xmx512m"}
        started = time.monotonic()
        result = subprocess.run(["bash", str(infra.ROOT / "infra" / "kafka" / "kafka.sh"), action], env=env,
                                capture_output=True, text=True, timeout=240, check=False)
        assert result.returncode == 0, f"kafka.sh {action}: {result.stdout}\n{result.stderr}"
        return time.monotonic() - started


@pytest.fixture
def own_broker(kafka_bootstrap: str, tmp_path: Path) -> Iterator[LocalKafka]:
    if kafka_bootstrap != f"127.0.0.1:{infra.TEST_KAFKA_PORT}":
        pytest.skip(f"the tests use the broker at {kafka_bootstrap}, not the project's local Kafka: "
                    "no broker of ours to restart")
    if not shutil.which("java") or not (infra.ROOT / "infra" / "kafka" / ".build" / "lib" / ".installed").exists():
        pytest.skip("local Kafka is not installed (infra/kafka/kafka.sh install)")
    broker = LocalKafka(tmp_path / "kafka-home")
    broker.script("start")
    try:
        yield broker
    finally:
        broker.script("stop")


@pytest.mark.xfail(strict=False, reason=(
    "'python -m candle_builder run' exits (code 1) after a broker restart: on the partition reassignment "
    "that follows, quixstreams raises PartitionAssignmentError ('Error during partition assignment') from "
    "KafkaException 'Failed to get watermark offsets' (NOT_LEADER_FOR_PARTITION or _TIMED_OUT), after "
    "'Kafka consumer error: 1/1 brokers are down' (-187). Whether it survives depends on when the restart "
    "lands; the test restarts twice to hit it. (Once also seen: 'python -m trade_producer synthetic' exiting "
    "with DeliveryError '220000 message(s) still undelivered after 60.0s' with the default flush timeout, "
    "though the broker was back after 10 s; here it gets 110 s.) The candle builder now rebuilds its "
    "application on those errors (CANDLE_MAX_RESTARTS); 'python -m feature_pipeline stream' can still exit "
    "(code 1) with aiokafka's NodeNotReadyError while the broker is away."))
def test_broker_restart_mid_run_loses_and_repeats_nothing(
    own_broker: LocalKafka, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, record_property,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", own_broker.bootstrap)
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", namespace)
    monkeypatch.setenv("KAFKA_PARTITIONS", "3")
    settings = KafkaSettings()
    topics = TopicNames(settings)
    ensure_topics(settings, topics.specs())
    start = datetime.fromtimestamp((time.time() * 1000 - 12 * HOUR_MS) // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    stack = Stack(tmp_path, namespace)
    builder, pipeline = stack.candle_builder(), stack.feature_pipeline()
    producer = stack.service("trade-producer", "trade_producer", "synthetic", "--symbols", ",".join(SYMBOLS),
                             "--trades", str(TRADES_PER_SYMBOL), "--start", start, "--speed", "max", "--no-progress",
                             TRADE_PRODUCER_FLUSH_TIMEOUT_SECONDS="110")
    builder_group, pipeline_group = f"{namespace}candle-builder", f"{namespace}feature-pipeline"
    trades_topic, candles_topic = topics(Topic.TRADES), topics(Topic.CANDLES)
    figures: dict[str, object] = {}

    with stopped_at_exit(builder, pipeline, producer):
        builder.start()
        pipeline.start()
        producer.start()
        # Restart as soon as trades are flowing: the producer is mid-feed, the consumers mid-stream.
        wait_until(lambda: sum(end_offsets(settings, trades_topic).values()) > 0, 180, "the first trades",
                   [producer], poll=0.1)
        figures["trades_before_restart"] = sum(end_offsets(settings, trades_topic).values())
        figures["builder_committed_before_restart"] = sum(committed_offsets(settings, builder_group,
                                                                            trades_topic).values())
        producer.assert_alive()
        figures["broker_restart_s"] = round(own_broker.script("restart"), 1)
        figures["trades_right_after_restart"] = sum(end_offsets(settings, trades_topic).values())
        # Again once the candle builder has committed part of the trades: the consumers mid-stream.
        wait_until(lambda: 0 < sum(committed_offsets(settings, builder_group, trades_topic).values()), 240,
                   "the candle builder's first commit after the restart", [builder, pipeline], poll=0.2)
        figures["builder_committed_before_second_restart"] = sum(committed_offsets(
            settings, builder_group, trades_topic).values())
        figures["second_broker_restart_s"] = round(own_broker.script("restart"), 1)

        assert producer.wait(300) == 0, producer.log_tail()
        produced = re.search(r"produced=(\d+)", producer.log_text())
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

        candles = wait_until(candles_complete, 240, "the candles of every trade", [builder, pipeline])
        builder.stop()

        def pipeline_caught_up() -> bool:
            ends = end_offsets(settings, candles_topic)
            committed = committed_offsets(settings, pipeline_group, candles_topic)
            # The last record of a transactional partition is a commit marker, never delivered.
            return all(committed.get(p, 0) >= end - 1 for p, end in ends.items() if end)

        wait_until(pipeline_caught_up, 180, "the feature pipeline to consume every candle", [pipeline])
        builder_committed = sum(committed_offsets(settings, builder_group, trades_topic).values())

    for key, candle in expected.items():
        assert candles[key] == candle, key
    assert builder_committed == len(trades)
    assert figures["builder_committed_before_second_restart"] < len(trades), "the second restart must land mid-stream"
    figures.update(trades=len(trades), candles=len(candles), reference_candles=len(expected))
    print(f"\nbroker restart: {figures}")
    for name, value in figures.items():
        record_property(name, value)
