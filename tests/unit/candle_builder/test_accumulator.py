"""One window's aggregate: kline semantics, any arrival order, exact sums."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from candle_builder.accumulator import CandleAccumulator, gap_fill_candle
from unit.candle_builder.samples import T0, make_trade


def test_fields_follow_kline_semantics() -> None:
    trades = [
        make_trade(T0 + 10, price=101.0, quantity=2.0, buyer_maker=True, trade_id=7),
        make_trade(T0 + 20, price=105.0, quantity=1.0, buyer_maker=False, trade_id=8),
        make_trade(T0 + 20, price=99.0, quantity=3.0, buyer_maker=False, trade_id=9),
        make_trade(T0 + 30, price=102.0, quantity=0.5, buyer_maker=True, trade_id=10),
    ]
    accumulator = CandleAccumulator()
    for trade in trades:
        accumulator.add(trade)
    candle = accumulator.to_candle("BTCUSDT", "1m", T0)

    assert (candle.open, candle.high, candle.low, candle.close) == (101.0, 105.0, 99.0, 102.0)
    assert candle.volume == 6.5
    assert candle.quote_volume == 202.0 + 105.0 + 297.0 + 51.0
    assert candle.trade_count == 4
    assert candle.taker_buy_base_volume == 4.0  # trades 8 and 9: the buyer was the taker
    assert candle.taker_buy_quote_volume == 105.0 + 297.0
    assert candle.vwap == pytest.approx(655.0 / 6.5)
    assert (candle.first_trade_id, candle.last_trade_id) == (7, 10)
    assert candle.close_time_ms == T0 + 59_999
    assert not candle.is_gap_fill


def test_arrival_order_does_not_matter() -> None:
    trades = [
        make_trade(T0 + step * 7, price=100 + (step * 37) % 11, quantity=0.1 + step % 3)
        for step in range(200)
    ]
    in_order = CandleAccumulator()
    for trade in trades:
        in_order.add(trade)
    shuffled = CandleAccumulator()
    for trade in random.Random(4).sample(trades, len(trades)):
        shuffled.add(trade)
    expected = in_order.to_candle("BTCUSDT", "1m", T0)
    got = shuffled.to_candle("BTCUSDT", "1m", T0)
    assert (got.open, got.close, got.high, got.low) == (
        expected.open,
        expected.close,
        expected.high,
        expected.low,
    )
    assert (got.first_trade_id, got.last_trade_id) == (trades[0].trade_id, trades[-1].trade_id)
    assert got.volume == pytest.approx(expected.volume, rel=1e-15)


def test_same_timestamp_is_ordered_by_trade_id() -> None:
    accumulator = CandleAccumulator()
    accumulator.add(make_trade(T0 + 5, price=3.0, trade_id=12))
    accumulator.add(make_trade(T0 + 5, price=1.0, trade_id=10))
    accumulator.add(make_trade(T0 + 5, price=2.0, trade_id=11))
    candle = accumulator.to_candle("BTCUSDT", "1m", T0)
    assert (candle.open, candle.close) == (1.0, 3.0)


def test_aggregate_trades_count_the_trades_they_stand_for() -> None:
    accumulator = CandleAccumulator()
    accumulator.add(make_trade(T0 + 1, trade_id=500, first_trade_id=9000, last_trade_id=9004))
    accumulator.add(make_trade(T0 + 2, trade_id=501, first_trade_id=9005, last_trade_id=9005))
    candle = accumulator.to_candle("BTCUSDT", "1m", T0)
    assert candle.trade_count == 6
    assert (candle.first_trade_id, candle.last_trade_id) == (9000, 9005)


def test_sums_of_many_eight_decimal_quantities_stay_exact() -> None:
    rng = random.Random(11)
    quantities = [f"{rng.randint(1, 10**9) / 10**8:.8f}" for _ in range(20_000)]
    accumulator = CandleAccumulator()
    for index, text in enumerate(quantities):
        accumulator.add(make_trade(T0 + index % 60_000, price=1.0, quantity=float(text)))
    exact = sum(Decimal(text) for text in quantities)
    got = Decimal(accumulator.to_candle("BTCUSDT", "1m", T0).volume)
    assert abs(got - exact) / exact < Decimal("1e-15")


def test_merge_equals_adding_every_trade() -> None:
    trades = [make_trade(T0 + step * 1000, price=50 + step % 9, quantity=1 + step % 4) for step in range(300)]
    whole = CandleAccumulator()
    parts = [CandleAccumulator() for _ in range(5)]
    for index, trade in enumerate(trades):
        whole.add(trade)
        parts[index * 5 // len(trades)].add(trade)
    merged = CandleAccumulator()
    for part in reversed(parts):  # merge order must not matter either
        merged.merge(part)
    assert merged.to_candle("BTCUSDT", "5m", T0) == whole.to_candle("BTCUSDT", "5m", T0)


def test_state_round_trip() -> None:
    accumulator = CandleAccumulator()
    for step in range(10):
        accumulator.add(make_trade(T0 + step, price=10.0 + step, quantity=0.3, buyer_maker=step % 2 == 0))
    restored = CandleAccumulator.from_list(accumulator.to_list())
    assert restored.to_candle("BTCUSDT", "1m", T0) == accumulator.to_candle("BTCUSDT", "1m", T0)


def test_empty_window_has_only_a_gap_fill() -> None:
    with pytest.raises(ValueError):
        CandleAccumulator().to_candle("BTCUSDT", "1m", T0)
    candle = gap_fill_candle("BTCUSDT", "1m", T0, previous_close=123.5)
    assert candle.is_gap_fill
    assert (candle.open, candle.high, candle.low, candle.close, candle.vwap) == (123.5,) * 5
    assert (candle.volume, candle.quote_volume, candle.trade_count) == (0.0, 0.0, 0)
