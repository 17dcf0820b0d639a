"""Live streaming through the real python-binance client against a loopback exchange."""

from __future__ import annotations

import socket
import time
import urllib.request

import pytest

from support.kafka import Record
from tickcast.contracts import Trade
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

from .conftest import read_topic
from .fake_binance import FakeBinance, stream_frame
from .live_process import live_producer

pytestmark = pytest.mark.integration


def _trades(records: list[Record]) -> dict[str, list[Trade]]:
    by_symbol: dict[str, list[Trade]] = {}
    for record in records:
        trade = Trade.parse(record.value)
        assert record.key == trade.symbol.encode()
        by_symbol.setdefault(trade.symbol, []).append(trade)
    return by_symbol


def _assert_exactly_the_market(fake: FakeBinance, symbol: str, produced: list[Trade]) -> None:
    market = fake.all_trades(symbol)
    assert [trade.trade_id for trade in produced] == [row["id"] for row in market]
    for trade, row in zip(produced, market, strict=True):
        assert (trade.price, trade.quantity, trade.timestamp_ms, trade.is_buyer_maker) == (
            float(row["price"]), float(row["qty"]), row["time"], row["isBuyerMaker"]
        )  # fmt: skip


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _scrape(port: int) -> dict[tuple[str, str], float]:
    """``/metrics`` as {(name, labels): value}."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    samples: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            name, _, labels = series.partition("{")
            samples[(name, labels.rstrip("}"))] = float(value)
    return samples


def _wait_for_count(settings: KafkaSettings, topic: str, expected: int, timeout: float = 60) -> list[Record]:
    deadline = time.monotonic() + timeout
    records: list[Record] = []
    while time.monotonic() < deadline:
        records = read_topic(settings, topic, expected=expected, timeout=10, idle=0.5)
        if len(records) >= expected:
            return records
    return records


def test_forced_disconnect_mid_stream_yields_every_trade_once(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    with FakeBinance({"BTCUSDT": 1_000, "ETHUSDT": 50_000}) as fake:
        # One stream per connection, so the two symbols also exercise multiplexing over several sockets.
        metrics_port = _free_port()
        with live_producer(
            fake, "--symbols", "BTCUSDT,ETHUSDT", "--no-control",
            TRADE_PRODUCER_STREAMS_PER_CONNECTION="1", TRADE_PRODUCER_METRICS_PORT=str(metrics_port),
        ) as producer:  # fmt: skip
            fake.wait_for_subscribers(2)
            fake.run_market(trades_per_second=200)
            time.sleep(1.0)
            # Bad exchange input is counted and logged, and the stream goes on.
            fake.send_raw("{not json")
            fake.send_raw('{"stream":"btcusdt@kline_1m","data":{"e":"kline","s":"BTCUSDT"}}')
            fake.send_raw(
                stream_frame(
                    "BTCUSDT", {"id": 1_000, "price": "abc", "qty": "1", "time": 1, "isBuyerMaker": True}
                )
            )
            time.sleep(0.5)
            # The exchange drops the connection and refuses new ones while the market keeps trading.
            fake.drop_connections(refuse_for_seconds=1.5)
            time.sleep(1.5)
            fake.wait_for_subscribers(2)
            time.sleep(1.0)
            fake.stop_market()
            fake.trade("BTCUSDT")
            fake.trade("ETHUSDT")
            total = sum(len(fake.all_trades(symbol)) for symbol in ("BTCUSDT", "ETHUSDT"))
            _wait_for_count(kafka_settings, topics(Topic.TRADES), total)
            latency_count = ("trade_producer_produce_latency_seconds_count", "")
            deadline = time.monotonic() + 10  # delivery reports of the last trades may still be in flight
            while (metrics := _scrape(metrics_port))[latency_count] < total and time.monotonic() < deadline:
                time.sleep(0.2)
            producer.terminate()

    assert producer.exit_code == 0, producer.stderr[-3000:]
    # Read again after the producer flushed and exited: nothing may have been added since.
    records = read_topic(kafka_settings, topics(Topic.TRADES), expected=total)
    produced = _trades(records)
    gap_filled = sum(trade.source == "gap_fill" for trade in produced["BTCUSDT"])
    assert metrics[("trade_producer_gap_fill_trades_total", 'symbol="BTCUSDT"')] == gap_filled
    live_eth = sum(trade.source == "live" for trade in produced["ETHUSDT"])
    assert metrics[("trade_producer_trades_produced_total", 'source="live",symbol="ETHUSDT"')] == live_eth
    assert metrics[("trade_producer_reconnects_total", 'reason="disconnect"')] >= 2
    for reason in ("malformed frame", "unknown event", "invalid trade"):
        assert metrics[("trade_producer_rejected_messages_total", f'reason="{reason}",source="live"')] >= 1
    assert metrics[latency_count] == total  # every trade acknowledged, and timed
    for symbol in ("BTCUSDT", "ETHUSDT"):
        _assert_exactly_the_market(fake, symbol, produced[symbol])
    sources = {trade.source for trades in produced.values() for trade in trades}
    assert sources == {"live", "gap_fill"}
    assert fake.connections >= 4  # two connections, each reopened
    log = producer.stderr
    assert "stream disconnected, reconnecting" in log and "gap filled" in log
    assert "malformed frame" in log and "{not json" in log
    assert "unknown event" in log and "kline_1m" in log
    assert "invalid trade" in log and "'abc'" in log
    assert "trades flushed" in log


def test_proactive_reconnects_before_the_connection_age_limit_lose_nothing(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    with FakeBinance({"BTCUSDT": 7_000}) as fake:
        with live_producer(
            fake, "--symbols", "BTCUSDT", "--no-control", TRADE_PRODUCER_CONNECTION_MAX_AGE_SECONDS="1"
        ) as producer:
            fake.wait_for_subscribers(1)
            fake.run_market(trades_per_second=150)
            time.sleep(4.0)
            fake.stop_market()
            fake.wait_for_subscribers(1)
            fake.trade("BTCUSDT")
            _wait_for_count(kafka_settings, topics(Topic.TRADES), len(fake.all_trades("BTCUSDT")))
            producer.terminate()

    assert producer.exit_code == 0, producer.stderr[-3000:]
    records = read_topic(kafka_settings, topics(Topic.TRADES), expected=len(fake.all_trades("BTCUSDT")))
    _assert_exactly_the_market(fake, "BTCUSDT", _trades(records)["BTCUSDT"])
    assert fake.connections >= 3
    assert "reason=max_age" in producer.stderr


def test_restart_continues_from_the_topic_without_repeats(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    with FakeBinance({"ETHUSDT": 10}) as fake:
        with live_producer(fake, "--symbols", "ETHUSDT", "--no-control") as first:
            fake.wait_for_subscribers(1)
            fake.trade("ETHUSDT", 50)
            _wait_for_count(kafka_settings, topics(Topic.TRADES), 50)
            first.terminate()
        fake.trade("ETHUSDT", 30)  # while no producer runs
        with live_producer(fake, "--symbols", "ETHUSDT", "--no-control") as second:
            fake.wait_for_subscribers(1)
            fake.trade("ETHUSDT", 5)
            _wait_for_count(kafka_settings, topics(Topic.TRADES), 85)
            second.terminate()

    assert first.exit_code == 0 and second.exit_code == 0, second.stderr[-3000:]
    produced = _trades(read_topic(kafka_settings, topics(Topic.TRADES), expected=85))["ETHUSDT"]
    _assert_exactly_the_market(fake, "ETHUSDT", produced)
    assert [t.source for t in produced].count("gap_fill") == 30


def test_server_shutdown_notice_reconnects_before_the_drop_and_loses_nothing(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    with FakeBinance({"BTCUSDT": 3_000}) as fake:
        metrics_port = _free_port()
        with live_producer(
            fake, "--symbols", "BTCUSDT", "--no-control", TRADE_PRODUCER_METRICS_PORT=str(metrics_port)
        ) as producer:
            fake.wait_for_subscribers(1)
            fake.run_market(trades_per_second=150)
            time.sleep(1.0)
            # Binance's notice; the server would drop the connection 5 s later (in reality: minutes).
            fake.server_shutdown(grace_seconds=5.0)
            deadline = time.monotonic() + 30
            while fake.connections < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            fake.wait_for_subscribers(1)
            time.sleep(1.0)
            fake.stop_market()
            fake.trade("BTCUSDT")
            total = len(fake.all_trades("BTCUSDT"))
            _wait_for_count(kafka_settings, topics(Topic.TRADES), total)
            time.sleep(5.0)  # past the grace period: the old connection must be gone by our hand, not the server's
            metrics = _scrape(metrics_port)
            producer.terminate()

    assert producer.exit_code == 0, producer.stderr[-3000:]
    _assert_exactly_the_market(fake, "BTCUSDT", _trades(read_topic(kafka_settings, topics(Topic.TRADES), expected=total))["BTCUSDT"])
    assert fake.connections == 2
    assert fake.closed[0] == "client"  # the noticed connection was closed by the producer before the drop
    assert "server shut down" not in fake.closed
    assert metrics[("trade_producer_reconnects_total", 'reason="server_shutdown"')] == 1
    assert ("trade_producer_reconnects_total", 'reason="disconnect"') not in metrics
    assert not any(name == "trade_producer_rejected_messages_total" for name, _labels in metrics)
    assert "announced a server shutdown" in producer.stderr
