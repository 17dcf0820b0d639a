"""A symbol that stops trading still gets its candle, then gap fills, from the wall clock alone."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer
from integration.candle_builder.harness import (
    committed_trade_offsets,
    produce_trades,
    read_candles,
    read_dead_letters,
    running,
    wait_for,
)
from tickcast.contracts import Candle, Trade
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

pytestmark = pytest.mark.integration

GRACE_MS = 500


def live_trade(symbol: str, trade_id: int, ts: int, price: float) -> Trade:
    return Trade(
        symbol=symbol,
        trade_id=trade_id,
        price=price,
        quantity=0.5,
        quote_quantity=price * 0.5,
        timestamp_ms=ts,
        is_buyer_maker=False,
        source="live",
    )


def test_idle_symbol_closes_within_seconds_of_window_end_plus_grace(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    candles_topic = TopicNames(kafka_settings)(Topic.CANDLES)
    reader = Consumer(
        {
            **kafka_settings.client_config(),
            "group.id": f"idle-reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "fetch.wait.max.ms": 50,
        }
    )
    reader.subscribe([candles_topic])
    arrivals: list[tuple[float, Candle]] = []

    def read_some() -> None:
        message = reader.poll(0.05)
        if message is not None and not message.error():
            arrivals.append((time.time(), Candle.parse(message.value())))

    with running(tmp_path, CANDLE_INTERVALS="1s", CANDLE_GRACE_MS=str(GRACE_MS)) as service:
        # A first trade proves the service is consuming before the measured one is sent.
        produce_trades(kafka_settings, [live_trade("ETHUSDT", 1, int(time.time() * 1000), 2000.0)])
        wait_for(lambda: (read_some(), bool(arrivals))[1], 60, "the service to emit its first candle", poll=0)

        sent_ms = int(time.time() * 1000)
        produce_trades(kafka_settings, [live_trade("SOLUSDT", 2, sent_ms, 100.0)])
        # Then nothing more is ever produced for any symbol.
        window = sent_ms - sent_ms % 1000
        wait_for(
            lambda: (
                read_some(),
                any(c.symbol == "SOLUSDT" and c.open_time_ms == window for _, c in arrivals),
            )[1],
            30,
            "the idle symbol's candle",
            poll=0,
        )
        arrived_at, candle = next(
            (t, c) for t, c in arrivals if c.symbol == "SOLUSDT" and c.open_time_ms == window
        )
        delay = arrived_at - (candle.close_time_ms + 1 + GRACE_MS) / 1000
        print(f"idle candle {delay:.3f}s after window end plus grace")
        assert delay < 3.0, f"candle came {delay:.2f}s after its window end plus grace"
        assert (candle.trade_count, candle.close, candle.is_gap_fill) == (1, 100.0, False)

        # With no trades at all, the next seconds close as flat gap fills at the last price.
        wait_for(
            lambda: (read_some(), sum(c.symbol == "SOLUSDT" and c.is_gap_fill for _, c in arrivals) >= 3)[1],
            30,
            "gap fills of the idle symbol",
            poll=0,
        )
        service.assert_alive()
    reader.close()

    sol = [c for _, c in arrivals if c.symbol == "SOLUSDT"]
    assert [c.open_time_ms for c in sol] == [window + 1000 * k for k in range(len(sol))]
    assert all(c.is_gap_fill and c.close == 100.0 and c.volume == 0 for c in sol[1:])


def test_a_pausing_replay_is_not_taken_for_a_quiet_market(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    minute = 1_704_067_200_000  # old trades: 2024-01-01 00:00 UTC
    before_pause = [
        live_trade("BTCUSDT", k, minute + 50_000 + k * 100, 100.0 + k) for k in range(1, 91)
    ]  # to :59.0
    after_pause = [
        live_trade("BTCUSDT", 100 + k, minute + 59_500 + k * 100, 200.0) for k in range(20)
    ]  # :59.5 on
    after_pause.append(live_trade("BTCUSDT", 200, minute + 119_900, 201.0))  # ends the next minute
    with running(
        tmp_path, CANDLE_INTERVALS="1m", CANDLE_GRACE_MS="2000", CANDLE_BACKLOG_IDLE_MS="8000"
    ) as service:
        produce_trades(kafka_settings, before_pause)
        group = f"{kafka_settings.topic_prefix}candle-builder"
        wait_for(
            lambda: committed_trade_offsets(kafka_settings, group) == len(before_pause), 60, "the first burst"
        )
        # Idle for over 3 s: were the clock trusted at once, minute 0 would close (59.0 s + 3 s
        # - 2 s grace > 60 s) and the rest of its trades would be refused as late.
        time.sleep(4.0)
        produce_trades(kafka_settings, after_pause)
        candles = read_candles(kafka_settings, expected=2, timeout=60)
        letters = read_dead_letters(kafka_settings, expected=1, timeout=3)
        service.assert_alive()
    assert letters == []
    assert (candles[0].open_time_ms, candles[0].trade_count) == (minute, 95)
    assert (candles[1].open_time_ms, candles[1].trade_count, candles[1].open) == (minute + 60_000, 16, 200.0)
