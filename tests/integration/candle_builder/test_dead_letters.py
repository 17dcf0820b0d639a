"""Malformed, future and late trades go to the dead-letter topic with their reason; the stream goes on."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from integration.candle_builder.harness import (
    free_port,
    produce_raw_trade_messages,
    read_candles,
    read_dead_letters,
    running,
    wait_for,
)
from tickcast.contracts import Trade
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

pytestmark = pytest.mark.integration

MINUTE = 60_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def trade(trade_id: int, ts: int, price: float = 100.0) -> Trade:
    return Trade(
        symbol="BTCUSDT",
        trade_id=trade_id,
        price=price,
        quantity=1.0,
        quote_quantity=price,
        timestamp_ms=ts,
        is_buyer_maker=True,
        source="replay",
    )


def message(trade: Trade) -> tuple[bytes, bytes]:
    return trade.key, trade.to_json_bytes()


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line.startswith("candle_builder_") and " " in line:
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_refused_trades_are_dead_lettered_with_reasons(kafka_settings: KafkaSettings, tmp_path: Path) -> None:
    bad_price = json.loads(trade(3, T0 + 1_000).model_dump_json()) | {"price": -5}
    far_future = trade(4, 4_000_000_000_000)  # year 2096: valid contract, absurd clock
    produce_raw_trade_messages(
        kafka_settings,
        [
            message(trade(1, T0 + 1_000, price=100.0)),
            (b"BTCUSDT", b"{not json"),
            (b"BTCUSDT", json.dumps(bad_price).encode()),
            message(far_future),
            message(trade(5, T0 + MINUTE + 10_000, price=101.0)),
            message(trade(6, T0 + 2 * MINUTE + 5_000, price=102.0)),  # closes minute 1 (grace 2 s)
            message(trade(7, T0 + 30_000, price=999.0)),  # minute 0 has closed: late
            message(trade(8, T0 + 3 * MINUTE - 500, price=103.0)),  # idle clock closes minute 2
        ],
    )
    port = free_port()
    with running(tmp_path, CANDLE_INTERVALS="1m", CANDLE_GRACE_MS="2000", METRICS_PORT=str(port)) as service:
        letters = read_dead_letters(kafka_settings, expected=4)
        candles = read_candles(kafka_settings, expected=3)
        wait_for(
            lambda: scrape(port).get("candle_builder_trades_in_total") == 8.0, 20, "metrics to be published"
        )
        metrics = scrape(port)
        service.assert_alive()

    trades_topic = TopicNames(kafka_settings)(Topic.TRADES)
    by_type = {letter.error_type: letter for letter in letters}
    assert sorted(by_type) == ["ContractError", "FutureTrade", "LateTrade"]
    assert sum(letter.error_type == "ContractError" for letter in letters) == 2
    assert all(
        letter.source_topic == trades_topic and letter.service == "candle_builder" for letter in letters
    )
    assert all(letter.message_key == "BTCUSDT" and letter.offset is not None for letter in letters)
    assert "future" in by_type["FutureTrade"].reason
    late = by_type["LateTrade"]
    assert "closed" in late.reason and json.loads(late.payload)["trade_id"] == 7
    assert {
        json.loads(letter.payload).get("price") for letter in letters if letter.payload.startswith('{"')
    } >= {-5}

    # The stream went on: every good trade is in its candle, the late one in none.
    assert [(c.open_time_ms, c.trade_count, c.high) for c in candles] == [
        (T0, 1, 100.0),
        (T0 + MINUTE, 1, 101.0),
        (T0 + 2 * MINUTE, 2, 103.0),
    ]
    assert metrics["candle_builder_trades_accepted_total"] == 4.0
    assert metrics["candle_builder_trades_late_total"] == 1.0
    assert metrics['candle_builder_trades_rejected_total{error_type="ContractError"}'] == 2.0
    assert metrics['candle_builder_trades_rejected_total{error_type="FutureTrade"}'] == 1.0
    assert metrics['candle_builder_candles_out_total{interval="1m",kind="trades"}'] == 3.0
