"""HTTP 403 (the exchange's firewall) and 451 (restricted location): a clear message and a distinct exit code."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames
from trade_producer.exit_codes import ExitCode

from .conftest import ROOT, read_topic
from .fake_binance import FakeBinance
from .live_process import exchange_env

pytestmark = pytest.mark.integration

EXPECTED = {
    403: (ExitCode.EXCHANGE_BLOCKED, "web application firewall blocked this client", "run from another network"),
    451: (ExitCode.RESTRICTED_LOCATION, "does not serve the location", "TRADE_PRODUCER_BINANCE_API_URL"),
}


def _run(fake: FakeBinance, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trade_producer", *args], capture_output=True, text=True, timeout=120,
        env=exchange_env(fake), cwd=ROOT,
    )  # fmt: skip


@pytest.mark.parametrize("status", [403, 451])
def test_refused_access_at_start_up_and_in_backfill_says_what_to_do(
    status: int, kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    with FakeBinance({"BTCUSDT": 1}) as fake:
        fake.trade("BTCUSDT", 10)
        fake.refuse_access(status)
        live = _run(fake, "live", "--symbols", "BTCUSDT", "--no-control")
        backfill = _run(fake, "backfill", "BTCUSDT", "--start", "2024-01-01T00:00:00Z", "--no-progress")
        refused_calls = [r for r in fake.requests if r.status == status]

    code, what, advice = EXPECTED[status]
    for result in (live, backfill):
        assert result.returncode == code, result.stderr[-3000:]
        assert "exchange refused access" in result.stderr and f"HTTP {status}" in result.stderr
        assert what in result.stderr and advice in result.stderr
        assert "Traceback" not in result.stderr
    assert len(refused_calls) == 2  # one call each: a refusal is not retried
    assert read_topic(kafka_settings, topics(Topic.TRADES), timeout=3) == []


@pytest.mark.parametrize("status", [403, 451])
def test_refused_websocket_handshake_ends_live_with_the_same_code(status: int, kafka_settings: KafkaSettings) -> None:
    """REST answers, but the stream host refuses the handshake (they sit behind different front ends)."""
    with FakeBinance({"BTCUSDT": 1}) as fake:
        env = exchange_env(fake)
        refusing = FakeBinance({"BTCUSDT": 1})
        with refusing:
            refusing.refuse_access(status)
            env["TRADE_PRODUCER_BINANCE_STREAM_URL"] = refusing.stream_url
            result = subprocess.run(
                [sys.executable, "-m", "trade_producer", "live", "--symbols", "BTCUSDT", "--no-control"],
                capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
            )  # fmt: skip

    code, what, _advice = EXPECTED[status]
    assert result.returncode == code, result.stderr[-3000:]
    assert "websocket handshake" in result.stderr and what in result.stderr
    assert "Traceback" not in result.stderr
