"""Fault tests: services killed, servers restarted or stopped, poison input, bursts.

A test marked ``broker_restart`` restarts a Kafka broker: it runs after every other test of the
session, whatever order the files were given in, so that nothing else is running when it does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from support import infra
from support.infra import ROOT
from support.services import free_port


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "broker_restart: restarts a Kafka broker; always run last")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    restarts = [item for item in items if item.get_closest_marker("broker_restart")]
    if restarts:
        items[:] = [item for item in items if item not in restarts] + restarts


@dataclass
class LocalRedis:
    """A redis-server of the test's own (``infra/redis/redis.sh``), on its own port and state folder."""

    home: Path
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _script(self, action: str) -> None:
        env = {**os.environ, "TICKCAST_HOME": str(self.home), "REDIS_PORT": str(self.port)}
        subprocess.run(["bash", str(ROOT / "infra" / "redis" / "redis.sh"), action], check=True, env=env,
                       capture_output=True)

    def start(self) -> None:
        self._script("start")

    def stop(self) -> None:
        self._script("stop")

    def forget_data(self) -> None:
        """Delete what the stopped server kept on disk: it comes back empty, as a fresh or wiped server does."""
        shutil.rmtree(self.home / "redis" / "data", ignore_errors=True)

    def answers(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[LocalRedis]:
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (infra/redis/redis.sh install)")
    server = LocalRedis(tmp_path / "redis-home", free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_broker(kafka_bootstrap: str, tmp_path: Path) -> Iterator[infra.LocalKafka]:
    """A fresh single-node Kafka of the test's own, stopped when the test ends."""
    if kafka_bootstrap != f"127.0.0.1:{infra.TEST_KAFKA_PORT}":
        pytest.skip(f"the tests use the broker at {kafka_bootstrap}, not the project's local Kafka: "
                    "no broker of ours to start")
    if not shutil.which("java") or not (ROOT / "infra" / "kafka" / ".build" / "lib" / ".installed").exists():
        pytest.skip("local Kafka is not installed (infra/kafka/kafka.sh install)")
    broker = infra.LocalKafka(tmp_path / "kafka-home")
    broker.script("start")
    try:
        yield broker
    finally:
        broker.script("stop")
