"""Symbols added at run time through the symbol-requests topic."""

from __future__ import annotations

import time

import pytest

from support.kafka import produce_raw
from tickcast.contracts import DeadLetter, Trade
from tickcast.control import SymbolRequest
from tickcast.settings import KafkaSettings
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
    kafka_settings: KafkaSettings, topics: TopicNames
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
    assert "requested symbol restored" in restarted.stderr
    sol = [Trade.parse(r.value) for r in records if r.key == b"SOLUSDT"]
    assert [t.trade_id for t in sol] == [row["id"] for row in fake.all_trades("SOLUSDT")]
    assert [t.source for t in sol[:120]] == ["backfill"] * 120
    assert {t.source for t in sol[120:]} <= {"live", "gap_fill"}
    refused = [DeadLetter.parse(letter.value) for letter in letters]
    assert sorted(letter.error_type for letter in refused) == ["ContractError", "UnknownSymbol"]
    assert {letter.source_topic for letter in refused} == {topics(Topic.SYMBOL_REQUESTS)}
    assert any("DOGEUSDT" in letter.payload for letter in refused)
