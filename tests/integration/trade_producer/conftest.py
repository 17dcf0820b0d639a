"""Fixtures for the trade producer against the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from support.kafka import Record
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
    """Every committed record of ``topic`` from the start, with an independent client.

    Assigns the partitions directly instead of joining a consumer group, which saves
    the broker's group rebalance delay on every read. Stops ``idle`` seconds after
    the last record once ``expected`` records (or, with None, any) are in, or at ``timeout``.
    """
    consumer = Consumer(
        {
            **settings.client_config(),
            "group.id": f"trade-producer-test-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in partitions])
    records: list[Record] = []
    deadline = time.monotonic() + timeout
    last_seen = time.monotonic()
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.1)
            if message is None or message.error() is not None:
                enough = len(records) >= expected if expected is not None else bool(records)
                if enough and time.monotonic() - last_seen > idle:
                    break
                continue
            last_seen = time.monotonic()
            records.append(
                Record(
                    key=message.key(),
                    value=message.value(),
                    partition=message.partition(),
                    offset=message.offset(),
                    headers=dict(message.headers() or []),
                )
            )
    finally:
        consumer.close()
    return records
