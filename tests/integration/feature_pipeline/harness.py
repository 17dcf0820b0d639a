"""Running the feature pipeline as its own process against the real broker and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.shared_data import BTCUSDT_1M_KLINES
from confluent_kafka import Consumer, TopicPartition

from support.kafka import consume
from tickcast.binance_files.klines import read_kline_files
from tickcast.contracts import Candle, FeatureVector
from tickcast.features import FEATURE_NAMES
from tickcast.kafka import CheckedProducer
from tickcast.settings import KafkaSettings

ROOT = Path(__file__).resolve().parents[3]
KLINES_DIR = BTCUSDT_1M_KLINES


def real_klines(pattern: str) -> pd.DataFrame:
    files = sorted(KLINES_DIR.glob(pattern))
    if not files:
        pytest.skip(f"real kline files {pattern} not found under {KLINES_DIR} (shared sample data absent)")
    return read_kline_files(files)


def pipeline_env(tmp_path: Path, namespace: str) -> dict[str, str]:
    """Environment of a worker: the test's broker/Redis settings plus its own Feast repo and data dir."""
    return {
        **os.environ,
        "FEAST_REPO_PATH": str(tmp_path / "feast"),
        "FEAST_PROJECT": namespace.strip("-").replace("-", "_"),
        "FAUST_DATA_DIR": str(tmp_path / "faust"),
        "FAUST_COMMIT_INTERVAL_S": "0.5",
        "FAUST_SESSION_TIMEOUT_S": "6",  # a SIGKILLed member leaves the group quickly
        "LOG_LEVEL": "INFO",
    }


class PipelineProcess:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "feature_pipeline", "stream"],
            env=env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed or committed on the way out."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def running_pipeline(env: dict[str, str], log_path: Path) -> Iterator[PipelineProcess]:
    worker = PipelineProcess(env, log_path)
    try:
        yield worker
    finally:
        worker.stop()


def produce_candles(settings: KafkaSettings, topic: str, candles: Sequence[Candle]) -> None:
    producer = CheckedProducer(settings)
    for candle in candles:
        producer.send(topic, candle)
    producer.flush()


def read_vectors(settings: KafkaSettings, topic: str, expected: int, timeout: float) -> list[FeatureVector]:
    records = consume(settings, topic, expected=expected, timeout=timeout, idle=3.0)
    return [FeatureVector.parse(record.value) for record in records]


def vectors_frame(vectors: Sequence[FeatureVector]) -> pd.DataFrame:
    rows = [[v.timestamp_ms, v.close, *(v.values[name] for name in FEATURE_NAMES)] for v in vectors]
    return pd.DataFrame(rows, columns=["timestamp_ms", "close", *FEATURE_NAMES]).sort_values("timestamp_ms")


def assert_features_equal(actual: pd.DataFrame, expected: pd.DataFrame, tolerance: float = 1e-9) -> None:
    """Same timestamps, and every feature within ``tolerance``."""
    actual = actual.sort_values("timestamp_ms").reset_index(drop=True)
    expected = expected.sort_values("timestamp_ms").reset_index(drop=True)
    assert actual["timestamp_ms"].tolist() == expected["timestamp_ms"].tolist()
    difference = np.abs(actual[list(FEATURE_NAMES)].to_numpy() - expected[list(FEATURE_NAMES)].to_numpy())
    worst = np.unravel_index(np.argmax(difference), difference.shape)
    assert difference.max() <= tolerance, (
        f"{FEATURE_NAMES[worst[1]]} at {actual['timestamp_ms'][worst[0]]} differs by {difference.max()}"
    )


def committed_total(settings: KafkaSettings, group: str, topic: str, partitions: int) -> int:
    """Sum of the group's committed offsets on a topic (0 for a partition without one)."""
    consumer = Consumer({**settings.client_config(), "group.id": group, "enable.auto.commit": False})
    try:
        committed = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    finally:
        consumer.close()
    return sum(max(tp.offset, 0) for tp in committed)


def wait_for(condition, timeout: float, what: str, worker: PipelineProcess | None = None) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if worker is not None and worker.process.poll() is not None:
            raise AssertionError(
                f"worker exited ({worker.process.returncode}) waiting for {what}:\n{worker.log_tail()}"
            )
        time.sleep(0.5)
    tail = worker.log_tail() if worker else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tail}")
