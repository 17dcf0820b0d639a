"""No input lost, none predicted twice: across instances joining and leaving, and across a hard kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from inference.service import InferenceService
from integration.inference.harness import running, wait_for
from support.kafka import consume
from tickcast.contracts import Contract, Prediction
from tickcast.topics import Topic
from unit.inference.linear_models import InMemoryChampions, LinearModel, candle, ret_for, vector

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SYMBOLS = [f"S{i:02d}USDT" for i in range(12)]


class Stream:
    """Feature vectors for every symbol, one step at a time, in a background thread."""

    def __init__(self, send: Callable[[Topic, list[Contract]], None], steps: int, pause_s: float) -> None:
        self.sent_steps = 0
        self._send, self._steps, self._pause_s = send, steps, pause_s
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for step in range(self._steps):
            self._send(Topic.FEATURES, [vector(s, step, ret_1=ret_for(s, step)) for s in SYMBOLS])
            self.sent_steps = step + 1
            time.sleep(self._pause_s)

    def wait_until(self, steps: int) -> None:
        wait_for(lambda: self.sent_steps >= steps, timeout=60, what=f"{steps} steps sent")

    def join(self) -> None:
        self._thread.join(timeout=120)


def assert_each_input_once(kafka_settings, topics, steps: int) -> list[Prediction]:
    records = consume(kafka_settings, topics(Topic.PREDICTIONS), expected=steps * len(SYMBOLS), timeout=90)
    published = [Prediction.parse(record.value) for record in records]
    per_input = Counter((p.symbol, p.as_of_ms) for p in published)
    assert len(per_input) == steps * len(SYMBOLS), "some inputs got no prediction"
    assert set(per_input.values()) == {1}, "some inputs got more than one prediction"
    return published


def test_instances_joining_and_leaving_share_the_stream_exactly_once(
    inference_settings, kafka_settings, topics, send
):
    registry = InMemoryChampions("m")
    registry.register(LinearModel("m", "1", weight=1.0, lag_window=2))
    registry.set_champion("1")
    steps = 40
    first = InferenceService(inference_settings, registry)
    second = InferenceService(inference_settings, registry)

    with running(first) as first_running:
        stream = Stream(send, steps, pause_s=0.1)
        stream.wait_until(10)
        with running(second):  # joins: the partitions are shared out again mid-stream
            stream.wait_until(25)
            first_running.shutdown()  # leaves: the second takes everything over
            stream.join()
            assert_each_input_once(kafka_settings, topics, steps)


def test_hard_kill_mid_stream_then_restart_loses_and_repeats_nothing(
    inference_settings, kafka_settings, topics, send, redis_settings, registry_settings, tmp_path
):
    env = {
        **os.environ,
        "INFERENCE_GROUP_ID": inference_settings.group_id,
        "INFERENCE_TRANSACTIONAL_ID": f"{inference_settings.group_id}-0",  # the restart fences its predecessor
        "INFERENCE_SESSION_TIMEOUT_MS": "6000",  # the group notices the killed instance sooner
        "INFERENCE_MODEL_NAME": "tickcast-nochampion-1m-h5",  # no champion: the baseline is served
        "INFERENCE_CHAMPION_POLL_SECONDS": "60",
        "MLFLOW_TRACKING_URI": registry_settings.tracking_uri(),
        "MLFLOW_ARTIFACT_ROOT": registry_settings.artifact_root(),
        "LOG_FORMAT": "json",
    }
    steps = 40

    def start(log: Path) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-m", "inference", "run"], env=env,
                                   stderr=log.open("w"), stdout=subprocess.DEVNULL)
        wait_for(lambda: "partitions assigned" in log.read_text() or process.poll() is not None, timeout=90,
                 what="the service to get its partitions")
        assert process.poll() is None, log.read_text()[-3000:]
        return process

    first = start(tmp_path / "first.log")
    stream = Stream(send, steps, pause_s=0.1)
    stream.wait_until(15)
    first.send_signal(signal.SIGKILL)  # no goodbye: an open transaction may be left behind
    first.wait(timeout=30)
    stream.wait_until(20)
    second = start(tmp_path / "second.log")
    try:
        stream.join()
        published = assert_each_input_once(kafka_settings, topics, steps)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
    assert {p.model_name for p in published} == {"persistence-baseline"}
    assert second.returncode == 0, (tmp_path / "second.log").read_text()[-3000:]


def test_restart_refills_lag_windows_from_the_topic(inference_settings, kafka_settings, topics, send):
    model = LinearModel("m", "1", weight=1.0, lag_window=3)
    registry = InMemoryChampions("m")
    registry.register(model)
    registry.set_champion("1")
    symbols = SYMBOLS[:4]

    def send_steps(steps: range) -> None:
        for step in steps:
            send(Topic.FEATURES, [vector(s, step, ret_1=ret_for(s, step)) for s in symbols])

    with running(InferenceService(inference_settings, registry)):
        send_steps(range(0, 5))
        consume(kafka_settings, topics(Topic.PREDICTIONS), expected=5 * len(symbols), timeout=60)
    with running(InferenceService(inference_settings, registry)):  # a new process would start the same way
        send_steps(range(5, 8))
        records = consume(kafka_settings, topics(Topic.PREDICTIONS), expected=8 * len(symbols), timeout=60)

    after_restart = [p for p in map(Prediction.parse, (r.value for r in records))
                     if p.as_of_ms >= vector("BTCUSDT", 5).timestamp_ms]
    assert len(after_restart) == 3 * len(symbols)
    for prediction in after_restart:
        step = (prediction.as_of_ms - vector("BTCUSDT", 0).timestamp_ms) // 60_000
        assert prediction.model_name == "m", "the window should have been refilled, not served by the baseline"
        window = [ret_for(prediction.symbol, s) for s in range(step - 2, step + 1)]
        assert prediction.predicted_return == pytest.approx(model.expected(window), rel=1e-5)


def test_predictions_made_before_a_restart_are_still_scored(
    inference_settings, kafka_settings, topics, send, redis_client, keys
):
    registry = InMemoryChampions("m")
    registry.register(LinearModel("m", "1", weight=1.0))
    registry.set_champion("1")

    with running(InferenceService(inference_settings, registry)):
        send(Topic.FEATURES, [vector("BTCUSDT", step, ret_1=ret_for("BTCUSDT", step)) for step in range(5)])
        consume(kafka_settings, topics(Topic.PREDICTIONS), expected=5, timeout=60)
    with running(InferenceService(inference_settings, registry)):  # knows nothing of those predictions
        send(Topic.CANDLES, [candle("BTCUSDT", step, 100.0 + step) for step in range(10)])
        live_key = keys.live_metrics("m", "BTCUSDT")
        wait_for(lambda: redis_client.hget(live_key, "count") == "5", what="the five earlier predictions scored")
