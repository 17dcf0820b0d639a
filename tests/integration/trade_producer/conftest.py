"""Fixtures for the trade producer against the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.kafka import Record, consume
from support.shared_data import real_trade_files
from tickcast.settings import KafkaSettings

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(name="real_trade_files")
def real_trade_files_fixture() -> list[Path]:
    return real_trade_files()


def run_cli(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m trade_producer ...`` in a subprocess, with this test's KAFKA_* environment."""
    return subprocess.run(
        [sys.executable, "-m", "trade_producer", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


def read_topic(
    settings: KafkaSettings, topic: str, expected: int | None = None, timeout: float = 30.0, idle: float = 0.5
) -> list[Record]:
    """``support.kafka.consume`` with a shorter idle wait: the producer writes its trades in one go."""
    return consume(settings, topic, expected, timeout, idle)
