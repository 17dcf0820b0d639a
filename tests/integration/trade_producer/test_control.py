"""Symbols added at run time through the symbol-requests topic."""

from __future__ import annotations

import time

import pytest

from support.kafka import produce_raw
from tickcast.contracts import DeadLetter, SymbolStatus, Trade
from tickcast.control import SymbolRequest
from tickcast.settings import KafkaSettings, RedisSettings
from tickcast.topics import Topic, TopicNames

from .conftest import read_topic
from .fake_binance import FakeBinance
from .live_process import live_producer

pytestmark = pytest.mark.integration


def _request(symbol: str, lookback_minutes: int | None) -> tuple[bytes, bytes]:
    request = SymbolRequest(
        symbol=symbol, requested_at_ms=int(time.time() * 1000), lookback_minutes=lookback_minutes
    )
    return request.key, request.to_json_bytes()


def test_requested_symbol_is_checked_backfilled_then_streamed(
    kafka_settings: KafkaSettings, topics: TopicNames, redis_settings: RedisSettings
) -> None:
    with FakeBinance({"BTCUSDT": 1, "SOLUSDT": 400}) as fake:
        fake.trade("SOLUSDT", 120)  # history from before the request
        with live_producer(fake, "--symbols", "BTCUSDT") as producer:
            fake.wait_for_subscribers(1)
            produce_raw(
                kafka_settings,
                topics(Topic.SYMBOL_REQUESTS),
                [
                    (b"DOGEUSDT", _request("DOGEUSDT", 5)[1]),  # valid, but not listed on the exchange
                    (b"x", b'{"symbol": "sol usdt"}'),  # not a SymbolRequest
                    _request("SOLUSDT", 5),
                ],
            )
            fake.wait_for_subscribers(1, symbols={"BTCUSDT", "SOLUSDT"})
            fake.trade("SOLUSDT", 40)
            fake.trade("BTCUSDT", 10)
            expected = len(fake.all_trades("SOLUSDT")) + 10
            read_topic(kafka_settings, topics(Topic.TRADES), expected=expected, timeout=30)
            letters = read_topic(kafka_settings, topics.dlq(Topic.SYMBOL_REQUESTS), expected=2, timeout=20)
            producer.terminate()
        # After a restart the requested symbol is streamed again, continuing where it stopped.
        fake.trade("SOLUSDT", 15)
        with live_producer(fake, "--symbols", "BTCUSDT") as restarted:
            fake.wait_for_subscribers(1, symbols={"BTCUSDT", "SOLUSDT"})
            fake.trade("SOLUSDT", 5)
            expected = len(fake.all_trades("SOLUSDT")) + 10
            read_topic(kafka_settings, topics(Topic.TRADES), expected=expected, timeout=30)
            restarted.terminate()

    assert producer.exit_code == 0, producer.stderr[-3000:]
    assert restarted.exit_code == 0, restarted.stderr[-3000:]
    records = read_topic(kafka_settings, topics(Topic.TRADES), expected=expected)
    assert "requested symbols restored" in restarted.stderr
    sol = [Trade.parse(r.value) for r in records if r.key == b"SOLUSDT"]
    assert [t.trade_id for t in sol] == [row["id"] for row in fake.all_trades("SOLUSDT")]
    assert [t.source for t in sol[:120]] == ["backfill"] * 120
    assert {t.source for t in sol[120:]} <= {"live", "gap_fill"}
    refused = [DeadLetter.parse(letter.value) for letter in letters]
    assert sorted(letter.error_type for letter in refused) == ["ContractError", "UnknownSymbol"]
    assert {letter.source_topic for letter in refused} == {topics(Topic.SYMBOL_REQUESTS)}
    assert any("DOGEUSDT" in letter.payload for letter in refused)
    # Each step was reported on the symbol's status record, the refusal with its reason.
    statuses = [SymbolStatus.parse(r.value) for r in read_topic(kafka_settings, topics(Topic.SYMBOL_STATUS),
                                                                expected=None, timeout=10)]
    sol_stages = [s.stage for s in statuses if s.symbol == "SOLUSDT"]
    assert sol_stages[:2] == ["validating", "backfilling"] and sol_stages[-1] == "streaming", sol_stages
    assert {s.source for s in statuses if s.symbol == "SOLUSDT" and s.stage == "streaming"} == {"binance"}
    [doge] = [s for s in statuses if s.symbol == "DOGEUSDT" and s.stage == "refused"]
    assert "not a trading symbol" in doge.detail


def test_fifty_symbols_added_one_after_another_join_the_open_connection(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    added = [f"C{i:02d}USDT" for i in range(50)]
    # The exchange would refuse a third connection attempt in its window: reopening per symbol cannot pass.
    with FakeBinance({"BTCUSDT": 1, **{s: 1_000 * (i + 1) for i, s in enumerate(added)}},
                     connections_per_window=2) as fake:  # fmt: skip
        with live_producer(fake, "--symbols", "BTCUSDT", TRADE_PRODUCER_CONTROL_LOOKBACK_MINUTES="0") as producer:
            fake.wait_for_subscribers(1)
            for symbol in added:
                produce_raw(kafka_settings, topics(Topic.SYMBOL_REQUESTS), [_request(symbol, 0)])
            fake.wait_for_subscribers(1, symbols={"BTCUSDT", *added}, timeout=180)
            for symbol in ["BTCUSDT", *added]:
                fake.trade(symbol, 2)
            read_topic(kafka_settings, topics(Topic.TRADES), expected=102, timeout=60)
            first_run_requests = list(fake.subscribe_requests)
            producer.terminate()
        # A restart restores the 50 requested symbols in one batch.
        with live_producer(fake, "--symbols", "BTCUSDT") as restarted:
            fake.wait_for_subscribers(1, symbols={"BTCUSDT", *added}, timeout=120)
            for symbol in ["BTCUSDT", *added]:
                fake.trade(symbol, 1)
            records = read_topic(kafka_settings, topics(Topic.TRADES), expected=153, timeout=60)
            restarted.terminate()
        restart_requests = fake.subscribe_requests[len(first_run_requests):]

    assert producer.exit_code == 0, producer.stderr[-3000:]
    assert restarted.exit_code == 0, restarted.stderr[-3000:]
    assert fake.connections == 2 and fake.refused_connections == 0  # one per run
    assert "too many messages" not in fake.closed
    # Binance's request shape; every added stream asked for exactly once, on the open connection.
    assert all(set(r) == {"method", "params", "id"} and r["method"] == "SUBSCRIBE" for r in first_run_requests)
    asked = [stream for r in first_run_requests for stream in r["params"]]
    assert sorted(asked) == sorted(f"{s.lower()}@trade" for s in added)
    assert len(restart_requests) <= 1  # in the first connection's URL, or one SUBSCRIBE with all of them
    by_symbol: dict[str, list[int]] = {}
    for record in records:
        trade = Trade.parse(record.value)
        by_symbol.setdefault(trade.symbol, []).append(trade.trade_id)
    for symbol in ["BTCUSDT", *added]:
        assert by_symbol[symbol] == [row["id"] for row in fake.all_trades(symbol)], symbol
    assert "streams subscribed on the open connection" in producer.stderr
