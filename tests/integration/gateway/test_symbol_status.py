"""A symbol requested in offline mode: the real gateway, the real synthetic feed, the real broker and Redis.

POST /symbols is accepted because the synthetic feed listens; the feed adds the symbol (trades labelled
synthetic) and reports it onto the compacted status topic, which Redis mirrors for GET
/symbols/{symbol}/status; Redis lost, the mirror is rebuilt from the topic.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from gateway.config import GatewaySettings
from support.kafka import consume
from tickcast.contracts import SymbolStatus, Trade
from tickcast.control import symbol_request_group
from tickcast.kafka import consumer_config
from tickcast.redis_keys import RedisKeys
from tickcast.symbol_status import read_statuses, rebuild_mirror
from tickcast.topics import Topic

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def synthetic_feed(kafka_settings, redis_settings) -> Iterator[subprocess.Popen[str]]:
    """``python -m trade_producer synthetic`` as make up runs it (endless, paced by the wall clock, from now)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "trade_producer", "synthetic", "--symbols", "BTCUSDT", "--trades", "0",
         "--start", "now", "--speed", "live", "--no-progress"],
        cwd=ROOT, env={**os.environ}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_for_listener(kafka_settings, process)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_for_listener(kafka_settings, process: subprocess.Popen[str], timeout: float = 60.0) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(kafka_settings.client_config())
    group = symbol_request_group(kafka_settings.topic_prefix)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else "feed exited"
        description = admin.describe_consumer_groups([group])[group].result()
        if description.members:
            return
        time.sleep(0.5)
    raise AssertionError(f"the synthetic feed did not join {group} within {timeout}s")


def _status_until(client: httpx.Client, symbol: str, stage: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        response = client.get(f"/symbols/{symbol}/status")
        if response.status_code == 200:
            seen.append(response.json()["stage"])
            if response.json()["stage"] == stage:
                return response.json()
        time.sleep(0.3)
    raise AssertionError(f"{symbol} never reached {stage!r}; stages seen: {seen}")


def test_offline_a_requested_symbol_is_streamed_labelled_synthetic_and_its_status_says_so(
    kafka_settings, redis_settings, topics, start_gateway, synthetic_feed
) -> None:
    gateway = start_gateway(GatewaySettings(redis=redis_settings, kafka=kafka_settings))

    with httpx.Client(base_url=gateway.url, timeout=30.0) as client:
        assert client.get("/symbols/SOLUSDT/status").status_code == 404
        accepted = client.post("/symbols", json={"symbol": "SOLUSDT"})
        assert accepted.status_code == 202, accepted.text
        streaming = _status_until(client, "SOLUSDT", "streaming")
        listed = client.get("/symbols/status").json()
        openapi = client.get("/openapi.json").json()

    assert streaming["source"] == "synthetic" and "SYNTHETIC" in streaming["detail"]
    assert streaming["requested_at_ms"] == accepted.json()["requested_at_ms"]
    assert streaming["stage_since_ms"] >= streaming["requested_at_ms"] and streaming["in_stage_s"] >= 0
    assert [view["symbol"] for view in listed] == ["SOLUSDT"]  # the stack's own BTCUSDT has no request to follow
    assert "/symbols/{symbol}/status" in openapi["paths"]

    # The feed really invents the symbol's trades, labelled.
    trades = [Trade.parse(r.value) for r in consume(kafka_settings, topics(Topic.TRADES), expected=None,
                                                     timeout=20, idle=3.0) if r.key == b"SOLUSDT"]
    assert trades and {trade.source for trade in trades} == {"synthetic"}

    # The topic is the source of truth: every stage is on it, and it rebuilds a lost mirror.
    on_topic = read_statuses(kafka_settings)
    assert on_topic["SOLUSDT"].stage == "streaming"
    stages = [SymbolStatus.parse(r.value).stage for r in consume(kafka_settings, topics(Topic.SYMBOL_STATUS),
                                                                 expected=None, timeout=10, idle=2.0)]
    assert stages[:3] == ["requested", "validating", "streaming"]
    keys = RedisKeys(redis_settings.key_prefix)
    client = redis.Redis.from_url(redis_settings.url)
    client.delete(keys.symbol_status())
    # A gateway starting over a Redis that lost the mirror refills it from the topic.
    restarted = start_gateway(GatewaySettings(redis=redis_settings, kafka=kafka_settings))
    with httpx.Client(base_url=restarted.url, timeout=30.0) as fresh:
        assert _status_until(fresh, "SOLUSDT", "streaming", timeout=30)["source"] == "synthetic"
    # A record newer than the topic's (written while a refill runs) is kept; an older one is replaced.
    newest = on_topic["SOLUSDT"]
    client.hset(keys.symbol_status(), "SOLUSDT", newest.model_copy(
        update={"updated_at_ms": newest.updated_at_ms + 1, "detail": "newer"}).model_dump_json())
    assert rebuild_mirror(kafka_settings, redis_settings) == 0
    assert SymbolStatus.parse(client.hget(keys.symbol_status(), "SOLUSDT")).detail == "newer"
    client.hset(keys.symbol_status(), "SOLUSDT", newest.model_copy(
        update={"updated_at_ms": newest.updated_at_ms - 1, "detail": "older"}).model_dump_json())
    assert rebuild_mirror(kafka_settings, redis_settings) == 1
    assert SymbolStatus.parse(client.hget(keys.symbol_status(), "SOLUSDT")).detail == newest.detail
    client.close()
