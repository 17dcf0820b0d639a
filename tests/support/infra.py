"""Finds or starts the real infrastructure the tests talk to.

Order of preference, for Kafka and for Redis alike:
1. an already running server named by the environment (``KAFKA_BOOTSTRAP_SERVERS``, ``REDIS_URL``);
2. a testcontainers container, when a Docker engine answers;
3. the project's own local server from ``infra/`` (no Docker needed), on test ports
   so that it never touches a stack started with ``make up``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_HOME = ROOT / ".local" / "test"
TEST_KAFKA_PORT = int(os.environ.get("TEST_KAFKA_PORT", "19092"))
TEST_KAFKA_CONTROLLER_PORT = TEST_KAFKA_PORT + 1
TEST_REDIS_PORT = int(os.environ.get("TEST_REDIS_PORT", "16379"))


def docker_engine_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        result = subprocess.run(["docker", "info"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _script_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "TICKCAST_HOME": str(TEST_HOME), **extra}


def _run_script(script: str, action: str, **env: str) -> None:
    subprocess.run(["bash", str(ROOT / script), action], check=True, env=_script_env(**env))


@contextmanager
def kafka_bootstrap() -> Iterator[str]:
    if servers := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield servers
        return
    if docker_engine_answers():
        from testcontainers.kafka import RedpandaContainer

        with RedpandaContainer() as container:
            yield container.get_bootstrap_server()
        return
    ports = {"KAFKA_PORT": str(TEST_KAFKA_PORT), "KAFKA_CONTROLLER_PORT": str(TEST_KAFKA_CONTROLLER_PORT)}
    _run_script("infra/kafka/kafka.sh", "start", **ports)
    yield f"127.0.0.1:{TEST_KAFKA_PORT}"
    # Left running on purpose when KEEP_TEST_BROKER is set: saves ~10 s per local run.
    if not os.environ.get("KEEP_TEST_BROKER"):
        _run_script("infra/kafka/kafka.sh", "stop", **ports)


@contextmanager
def redis_url() -> Iterator[str]:
    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    if docker_engine_answers():
        from testcontainers.redis import RedisContainer

        with RedisContainer() as container:
            host = container.get_container_host_ip()
            yield f"redis://{host}:{container.get_exposed_port(6379)}/0"
        return
    _run_script("infra/redis/redis.sh", "start", REDIS_PORT=str(TEST_REDIS_PORT))
    yield f"redis://127.0.0.1:{TEST_REDIS_PORT}/0"
    if not os.environ.get("KEEP_TEST_BROKER"):
        _run_script("infra/redis/redis.sh", "stop", REDIS_PORT=str(TEST_REDIS_PORT))


class LocalKafka:
    """A Kafka broker of one test's own (``infra/kafka/kafka.sh``): fresh state folder, free ports.

    For what the shared test broker must never see: a restart, or a first start (a fresh cluster).
    """

    def __init__(self, home: Path) -> None:
        from support.services import free_port

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
        result = subprocess.run(["bash", str(ROOT / "infra" / "kafka" / "kafka.sh"), action], env=env,
                                capture_output=True, text=True, timeout=240, check=False)
        assert result.returncode == 0, f"kafka.sh {action}: {result.stdout}\n{result.stderr}"
        return time.monotonic() - started
