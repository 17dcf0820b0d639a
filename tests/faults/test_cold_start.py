"""A first start against a fresh broker: the services that measure their consumer lag keep running.

A fresh cluster answers "not coordinator" to offset fetches while it creates and loads
``__consumer_offsets``. The lag monitor asked for the group's offsets through librdkafka's admin
``ListConsumerGroupOffsets``, which dereferences a consumer-group object an admin client does not
have on that answer: the feature pipeline died of a segmentation fault (``rdk:main``) on every cold
start, and any other service could. Only a broker of the test's own is fresh: the shared test broker
stopped answering that way in its first minute.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import infra
from support.services import (
    HOUR_MS,
    Stack,
    committed_offsets,
    end_offsets,
    free_port,
    history_trades,
    hour_floor,
    http_text,
    metric_value,
    produce,
    stopped_at_exit,
    wait_until,
)
from tickcast.kafka import ensure_topics
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SYMBOLS = ["BTCUSDT"]
MINUTES = 30


def test_first_start_on_a_fresh_broker_runs_on(
    own_broker: infra.LocalKafka, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_settings,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", own_broker.bootstrap)
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", namespace)
    monkeypatch.setenv("KAFKA_PARTITIONS", "3")
    settings = KafkaSettings()
    topics = TopicNames(settings)
    ensure_topics(settings, topics.specs())

    # At once, while the fresh cluster creates and loads __consumer_offsets: what used to crash.
    probe = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("lag_probe.py")), f"{namespace}probe", topics(Topic.CANDLES),
         "15"], env={**os.environ}, capture_output=True, text=True, timeout=120, check=False)
    assert probe.returncode == 0, f"the lag probe exited with {probe.returncode}:\n{probe.stdout}\n{probe.stderr}"
    measured = re.search(r"measured=(\d+)", probe.stdout)
    assert measured and int(measured.group(1)) > 0, probe.stdout

    # Measured often, so the measurements overlap the moments the fresh cluster is not ready yet.
    stack = Stack(tmp_path, namespace, METRICS_LAG_INTERVAL_S="0.2")
    ports = {"candle-builder": free_port(), "feature-pipeline": free_port()}
    builder = stack.candle_builder(METRICS_PORT=str(ports["candle-builder"]))
    pipeline = stack.feature_pipeline(METRICS_PORT=str(ports["feature-pipeline"]))
    groups = {"candle-builder": f"{namespace}candle-builder", "feature-pipeline": f"{namespace}feature-pipeline"}
    candles_topic = topics(Topic.CANDLES)

    with stopped_at_exit(builder, pipeline):
        builder.start()
        pipeline.start()
        start_ms = hour_floor(int(time.time() * 1000)) - 2 * HOUR_MS
        produce(settings, topics(Topic.TRADES), history_trades(SYMBOLS, start_ms, MINUTES, seed=5))

        def pipeline_caught_up() -> bool:
            ends = end_offsets(settings, candles_topic)
            committed = committed_offsets(settings, groups["feature-pipeline"], candles_topic)
            # Candles are written in transactions: the last record of a partition is a commit marker.
            return sum(ends.values()) >= MINUTES and all(committed.get(p, 0) >= end - 1
                                                         for p, end in ends.items() if end)

        wait_until(pipeline_caught_up, 240, "the feature pipeline to consume every candle", [builder, pipeline])

        def lag_measured(service: str) -> bool:
            exposition = http_text(f"http://127.0.0.1:{ports[service]}/metrics") or ""
            return metric_value(exposition, "tickcast_consumer_lag_last_success_timestamp_seconds",
                                group=groups[service]) > 0

        for service in ports:
            wait_until(lambda service=service: lag_measured(service), 60, f"{service}'s consumer lag",
                       [builder, pipeline])
        builder.assert_alive()
        pipeline.assert_alive()
        assert "worker failed" not in pipeline.log_text(), pipeline.log_tail()

    for service in (builder, pipeline):
        assert service.returncode not in (-signal.SIGSEGV, 128 + signal.SIGSEGV), service.log_tail()
        assert service.returncode == 0, f"{service.name} did not stop cleanly:\n{service.log_tail()}"
