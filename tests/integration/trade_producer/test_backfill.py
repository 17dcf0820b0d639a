"""REST backfill through python-binance: paged by id, rate limits honoured, restart-safe."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from tickcast.contracts import Trade
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

from trade_producer.exit_codes import ExitCode

from .conftest import ROOT, read_topic
from .fake_binance import FakeBinance
from .live_process import exchange_env

pytestmark = pytest.mark.integration


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def _backfill(fake: FakeBinance, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trade_producer", "backfill", *args, "--no-progress"],
        capture_output=True, text=True, timeout=120, env=exchange_env(fake), cwd=ROOT,
    )  # fmt: skip


def test_backfill_honours_429_retry_after_and_a_rerun_adds_nothing(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    with FakeBinance({"BTCUSDT": 90_000}) as fake:
        fake.trade("BTCUSDT", 2_345)
        market = fake.all_trades("BTCUSDT")
        start = _iso(market[0]["time"])
        fake.throttle(requests=2, retry_after_seconds=1)

        first = _backfill(fake, "BTCUSDT", "--start", start)
        second = _backfill(fake, "btcusdt", "--start", start)
        requests = list(fake.requests)

    assert first.returncode == 0, first.stderr[-3000:]
    assert second.returncode == 0, second.stderr[-3000:]
    records = read_topic(kafka_settings, topics(Topic.TRADES), expected=len(market))
    trades = [Trade.parse(record.value) for record in records]
    assert [t.trade_id for t in trades] == [row["id"] for row in market]
    assert {t.source for t in trades} == {"backfill"}
    assert [t.price for t in trades] == [float(row["price"]) for row in market]

    # The two 429s were waited out for Retry-After before the same call was tried again.
    throttled = [i for i, request in enumerate(requests) if request.status == 429]
    assert len(throttled) == 2
    for index in throttled:
        retry = requests[index + 1]
        assert retry.path == requests[index].path and retry.query == requests[index].query
        assert retry.at - requests[index].at >= 0.95
    assert "REST call backing off" in first.stderr and "429" in first.stderr
    # Paged by id: three pages of at most 1000 from the first id of the range.
    first_run_pages = [
        r.query["fromId"] for r in requests if r.path == "historicalTrades" and r.status == 200
    ]
    assert first_run_pages[:3] == [str(market[0]["id"]), str(market[1000]["id"]), str(market[2000]["id"])]
    assert "produced=0" in second.stderr


def test_unreachable_exchange_fails_clearly_without_inventing_trades(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    with FakeBinance({"BTCUSDT": 1}) as fake:
        env = exchange_env(fake, TRADE_PRODUCER_REST_MAX_RETRIES="0")
    env["TRADE_PRODUCER_BINANCE_API_URL"] = "http://127.0.0.1:9/api"  # nothing listens on the discard port
    result = subprocess.run(
        [sys.executable, "-m", "trade_producer", "backfill", "BTCUSDT", "--start", "2024-01-01T00:00:00Z",
         "--no-progress"],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == ExitCode.EXCHANGE_UNREACHABLE
    assert "exchange unreachable" in result.stderr and "no trades were invented" in result.stderr
    assert read_topic(kafka_settings, topics(Topic.TRADES), timeout=3) == []
