"""The exchange's trade database lags its stream: every trade arrives once, or the hole is counted and visible."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tickcast.contracts import DeadLetter, Trade
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames
from trade_producer.exit_codes import ExitCode

from .conftest import ROOT, read_topic
from .fake_binance import FakeBinance
from .live_process import exchange_env, live_producer
from .test_backfill import _iso
from .test_live import _free_port, _scrape, _wait_for_count

pytestmark = pytest.mark.integration


def _gap_while_disconnected(fake: FakeBinance, symbol: str, before: int, during: int, after: int) -> None:
    """Trades on the stream, then ``during`` trades while the connection is down, then more on the new one."""
    fake.wait_for_subscribers(1)
    fake.trade(symbol, before)
    time.sleep(0.5)
    fake.drop_connections(refuse_for_seconds=1.0)
    fake.trade(symbol, during)
    fake.wait_for_subscribers(1)
    fake.trade(symbol, after)


def test_lagging_database_fill_waits_for_every_missing_trade(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    # The database stops taking trades just before the gap and memory keeps only the last 20: the start
    # of the gap is in neither when the fill begins, so it must ask again until the database catches up.
    with FakeBinance({"BTCUSDT": 5_000}, memory_trades=20) as fake:
        metrics_port = _free_port()
        with live_producer(
            fake, "--symbols", "BTCUSDT", "--no-control", TRADE_PRODUCER_METRICS_PORT=str(metrics_port),
            TRADE_PRODUCER_GAP_FILL_DEADLINE_SECONDS="60",
        ) as producer:  # fmt: skip
            fake.wait_for_subscribers(1)
            fake.trade("BTCUSDT", 20)
            time.sleep(0.5)
            fake.stall_database()
            fake.drop_connections(refuse_for_seconds=1.0)
            fake.trade("BTCUSDT", 300)
            fake.wait_for_subscribers(1)
            fake.trade("BTCUSDT", 10)
            deadline = time.monotonic() + 60
            while not any(r.path == "trades" for r in fake.requests) and time.monotonic() < deadline:
                time.sleep(0.05)  # the fill's first pass: the database behind, memory not reaching back
            time.sleep(1.0)
            fake.resume_database()
            total = len(fake.all_trades("BTCUSDT"))
            _wait_for_count(kafka_settings, topics(Topic.TRADES), total)
            metrics = _scrape(metrics_port)
            producer.terminate()

    assert producer.exit_code == 0, producer.stderr[-3000:]
    trades = [Trade.parse(r.value) for r in read_topic(kafka_settings, topics(Topic.TRADES), expected=total)]
    assert [t.trade_id for t in trades] == [row["id"] for row in fake.all_trades("BTCUSDT")]
    assert [t.source for t in trades].count("gap_fill") == 300
    assert metrics[("trade_producer_gap_fill_retries_total", 'stage="gap_fill",symbol="BTCUSDT"')] >= 1
    assert ("trade_producer_missing_trades_total", 'stage="gap_fill",symbol="BTCUSDT"') not in metrics
    assert "the exchange's database lags: asking again" in producer.stderr
    assert read_topic(kafka_settings, topics.dlq(Topic.TRADES), timeout=3) == []


def test_trades_the_exchange_never_returns_are_a_counted_and_visible_hole(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    # The database is far behind and memory holds nothing: the gap cannot be filled before the deadline.
    with FakeBinance({"ETHUSDT": 100}, db_lag_seconds=3600, memory_trades=0) as fake:
        metrics_port = _free_port()
        with live_producer(
            fake, "--symbols", "ETHUSDT", "--no-control", TRADE_PRODUCER_METRICS_PORT=str(metrics_port),
            TRADE_PRODUCER_GAP_FILL_DEADLINE_SECONDS="2",
        ) as producer:  # fmt: skip
            _gap_while_disconnected(fake, "ETHUSDT", before=15, during=40, after=10)
            market = fake.all_trades("ETHUSDT")
            _wait_for_count(kafka_settings, topics(Topic.TRADES), len(market) - 40)
            letters = read_topic(kafka_settings, topics.dlq(Topic.TRADES), expected=1, timeout=30)
            metrics = _scrape(metrics_port)
            producer.terminate()

    assert producer.exit_code == 0, producer.stderr[-3000:]
    ids = [row["id"] for row in market]
    hole = ids[15:55]
    trades = [Trade.parse(r.value) for r in read_topic(kafka_settings, topics(Topic.TRADES), expected=len(ids) - 40)]
    # Everything but the hole, once, in order: the live trades after it were held back, then produced.
    assert [t.trade_id for t in trades] == ids[:15] + ids[55:]
    assert metrics[("trade_producer_missing_trades_total", 'stage="gap_fill",symbol="ETHUSDT"')] == 40
    assert metrics[("trade_producer_trade_holes_total", 'stage="gap_fill",symbol="ETHUSDT"')] == 1
    [letter] = [DeadLetter.parse(record.value) for record in letters]
    assert letter.error_type == "MissingTrades" and letter.symbol == "ETHUSDT"
    assert letter.source_topic == topics(Topic.TRADES)
    assert json.loads(letter.payload) == {
        "symbol": "ETHUSDT", "first_missing_id": hole[0], "last_missing_id": hole[-1], "missing": 40,
        "stage": "gap_fill",
    }  # fmt: skip
    assert f"{hole[0]}..{hole[-1]}" in letter.reason
    assert "hole recorded" in producer.stderr


def test_backfill_up_to_now_takes_the_newest_trades_the_database_lacks(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    with FakeBinance({"SOLUSDT": 70_000}, memory_trades=100) as fake:
        fake.trade("SOLUSDT", 1_200)
        fake.stall_database()
        fake.trade("SOLUSDT", 300)  # the last 100 in memory; the 200 before them nowhere until the database resumes
        market = fake.all_trades("SOLUSDT")
        process = subprocess.Popen(
            [sys.executable, "-m", "trade_producer", "backfill", "SOLUSDT", "--start", _iso(market[0]["time"]),
             "--no-progress"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env=exchange_env(fake, TRADE_PRODUCER_GAP_FILL_DEADLINE_SECONDS="60"),
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while not any(r.path == "trades" for r in fake.requests) and time.monotonic() < deadline:
            time.sleep(0.05)  # until a first pass found the database behind and memory not reaching back
        time.sleep(1.0)
        fake.resume_database()
        _out, stderr = process.communicate(timeout=120)
        result = subprocess.CompletedProcess(process.args, process.returncode, "", stderr)
    assert result.returncode == 0, result.stderr[-3000:]
    trades = [Trade.parse(r.value) for r in read_topic(kafka_settings, topics(Topic.TRADES), expected=len(market))]
    assert [t.trade_id for t in trades] == [row["id"] for row in market]
    assert "asking again" in result.stderr


def test_backfill_with_a_hole_exits_with_its_own_code(kafka_settings: KafkaSettings, topics: TopicNames) -> None:
    with FakeBinance({"SOLUSDT": 1}, memory_trades=50) as fake:
        fake.trade("SOLUSDT", 100)
        fake.stall_database()
        fake.trade("SOLUSDT", 200)  # 150 of them in neither the database nor memory
        market = fake.all_trades("SOLUSDT")
        result = subprocess.run(
            [sys.executable, "-m", "trade_producer", "backfill", "SOLUSDT", "--start", _iso(market[0]["time"]),
             "--no-progress"],
            capture_output=True, text=True, timeout=120, cwd=ROOT,
            env=exchange_env(fake, TRADE_PRODUCER_GAP_FILL_DEADLINE_SECONDS="1"),
        )  # fmt: skip
    assert result.returncode == ExitCode.TRADES_MISSING, result.stderr[-3000:]
    ids = [row["id"] for row in market]
    trades = [Trade.parse(r.value) for r in read_topic(kafka_settings, topics(Topic.TRADES), expected=150)]
    assert [t.trade_id for t in trades] == ids[:100] + ids[250:]
    [letter] = [DeadLetter.parse(r.value) for r in read_topic(kafka_settings, topics.dlq(Topic.TRADES), expected=1)]
    assert json.loads(letter.payload)["first_missing_id"] == ids[100]
    assert json.loads(letter.payload)["last_missing_id"] == ids[249]
    assert "backfill incomplete" in result.stderr
