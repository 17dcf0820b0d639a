"""Event-time windows of a partition: closing, lateness, gap fills, several intervals, restore."""

from __future__ import annotations

import orjson
import pytest
from candle_builder.aggregate import build_candles
from candle_builder.windowing import (
    FutureTrade,
    LateTrade,
    PartitionCandleBuilder,
    WindowPlan,
    check_not_in_future,
)
from tickcast.contracts import Candle, Trade
from unit.candle_builder.samples import MINUTE, T0, make_trade


def builder_for(
    *intervals: str, grace_ms: int = 1_000, max_gap_fill_ms: int | None = None
) -> PartitionCandleBuilder:
    return PartitionCandleBuilder(
        WindowPlan.of(intervals, grace_ms=grace_ms, max_gap_fill_ms=max_gap_fill_ms)
    )


def feed(builder: PartitionCandleBuilder, trades: list[Trade]) -> list[Candle]:
    out: list[Candle] = []
    for trade in trades:
        out.extend(builder.add(trade))
    return out


def test_window_closes_only_when_watermark_passes_end_plus_grace() -> None:
    builder = builder_for("1m", grace_ms=2_000)
    assert feed(builder, [make_trade(T0 + 5_000, price=10.0), make_trade(T0 + MINUTE + 1_999)]) == []
    closed = builder.add(make_trade(T0 + MINUTE + 2_000))
    assert [(candle.open_time_ms, candle.open) for candle in closed] == [(T0, 10.0)]


def test_trade_within_grace_joins_its_window_and_a_later_one_is_refused() -> None:
    builder = builder_for("1m", grace_ms=2_000)
    feed(builder, [make_trade(T0 + 1_000, price=10.0), make_trade(T0 + MINUTE + 500, price=20.0)])
    # The watermark is past the window's end but within grace: the trade still counts.
    builder.add(make_trade(T0 + 59_000, price=15.0))
    closed = builder.add(make_trade(T0 + MINUTE + 2_000, price=21.0))
    assert [(c.open_time_ms, c.close, c.trade_count) for c in closed] == [(T0, 15.0, 2)]
    with pytest.raises(LateTrade, match="closed"):
        builder.add(make_trade(T0 + 59_999, price=16.0))


def test_idle_symbol_closes_with_the_partition_and_is_gap_filled() -> None:
    builder = builder_for("1m", grace_ms=1_000)
    feed(builder, [make_trade(T0 + 1_000, symbol="ETHUSDT", price=50.0)])
    out = feed(builder, [make_trade(T0 + step * 10_000, symbol="BTCUSDT") for step in range(1, 19)])
    eth = [candle for candle in out if candle.symbol == "ETHUSDT"]
    # ETH traded once at 00:00; the watermark (from BTC) reached 00:02:50, so 00:00 and 00:01 are closed.
    assert [(c.open_time_ms, c.is_gap_fill, c.close, c.volume) for c in eth] == [
        (T0, False, 50.0, 1.0),
        (T0 + MINUTE, True, 50.0, 0.0),
    ]


def test_gap_fill_windows_between_trades_are_flat_at_the_previous_close() -> None:
    trades = [make_trade(T0 + 1_000, price=10.0), make_trade(T0 + 3 * MINUTE + 1, price=12.0)]
    candles = build_candles(trades, "1m")
    assert [(c.open_time_ms, c.is_gap_fill, c.open, c.close, c.trade_count) for c in candles] == [
        (T0, False, 10.0, 10.0, 1),
        (T0 + MINUTE, True, 10.0, 10.0, 0),
        (T0 + 2 * MINUTE, True, 10.0, 10.0, 0),
        (T0 + 3 * MINUTE, False, 12.0, 12.0, 1),
    ]


def test_wall_clock_advance_closes_windows_without_new_trades() -> None:
    builder = builder_for("1m", grace_ms=1_000)
    builder.add(make_trade(T0 + 58_000, price=10.0))
    assert builder.advance(T0 + MINUTE + 999) == []
    closed = builder.advance(T0 + MINUTE + 1_000)
    assert [(c.open_time_ms, c.close) for c in closed] == [(T0, 10.0)]
    later = builder.advance(T0 + 3 * MINUTE + 1_000)
    assert [(c.open_time_ms, c.is_gap_fill) for c in later] == [(T0 + MINUTE, True), (T0 + 2 * MINUTE, True)]


def test_each_window_is_emitted_once() -> None:
    builder = builder_for("1m", grace_ms=0)
    out = feed(builder, [make_trade(T0 + step * 7_000) for step in range(60)])
    out += builder.advance(T0 + 10 * MINUTE)
    out += builder.advance(T0 + 10 * MINUTE)  # same watermark again: nothing new
    keys = [(c.symbol, c.interval, c.open_time_ms) for c in out]
    assert len(keys) == len(set(keys)) == 10


def test_larger_intervals_equal_their_own_aggregation_and_agree_with_smaller_ones() -> None:
    trades = [
        make_trade(
            T0 + step * 4_321,
            price=100 + (step * 13) % 17,
            quantity=0.5 + step % 5,
            buyer_maker=step % 3 == 0,
        )
        for step in range(400)
    ]
    together = build_candles(trades, ["1m", "5m", "15m"])
    for interval in ("1m", "5m", "15m"):
        alone = build_candles(trades, interval)
        series = [c for c in together if c.interval == interval]
        assert series[: len(alone)] == alone
        # Built together, shorter series are gap-filled up to the end of the longest window.
        assert all(c.is_gap_fill for c in series[len(alone) :])
    one_minute = {c.open_time_ms: c for c in together if c.interval == "1m"}
    for five in (c for c in together if c.interval == "5m"):
        parts = [
            one_minute[five.open_time_ms + k * MINUTE]
            for k in range(5)
            if five.open_time_ms + k * MINUTE in one_minute
        ]
        assert five.volume == pytest.approx(sum(p.volume for p in parts), rel=1e-12)
        assert five.trade_count == sum(p.trade_count for p in parts)
        assert five.high == max(p.high for p in parts)


def test_intervals_that_are_not_multiples_of_each_other_share_a_finer_grid() -> None:
    plan = WindowPlan.of(["3m", "5m"], grace_ms=0)
    assert plan.base_ms == MINUTE
    trades = [make_trade(T0 + step * 9_000, price=1 + step % 7) for step in range(200)]
    together = build_candles(trades, ["3m", "5m"])
    for interval in ("3m", "5m"):
        alone = build_candles(trades, interval)
        assert [c for c in together if c.interval == interval][: len(alone)] == alone


def test_a_long_silence_is_skipped_not_filled() -> None:
    builder = builder_for("1m", grace_ms=0, max_gap_fill_ms=10 * MINUTE)
    out = feed(builder, [make_trade(T0 + 1_000, price=10.0), make_trade(T0 + 100 * MINUTE, price=11.0)])
    out += builder.advance(T0 + 102 * MINUTE)
    assert [(c.open_time_ms, c.is_gap_fill) for c in out] == [
        (T0, False),
        (T0 + 100 * MINUTE, False),
        (T0 + 101 * MINUTE, True),
    ]
    assert builder.skipped_gap_windows == 99


def test_restored_builder_continues_exactly_like_the_original() -> None:
    trades = [
        make_trade(
            T0 + step * 3_700 + (step % 4) * 900, symbol=("BTCUSDT", "ETHUSDT")[step % 2], price=10 + step % 9
        )
        for step in range(300)
    ]
    plan = WindowPlan.of(["1m", "5m"], grace_ms=3_000)
    uninterrupted = PartitionCandleBuilder(plan)
    expected = feed(uninterrupted, trades) + uninterrupted.advance(T0 + 30 * MINUTE)

    for cut in (1, 57, 150, 299):
        first = PartitionCandleBuilder(plan)
        out = feed(first, trades[:cut])
        # What the state store would hold: every piece through a JSON round trip.
        meta = orjson.loads(orjson.dumps(first.meta_state()))
        opens = {s: orjson.loads(orjson.dumps(w.open_state())) for s, w in first.symbols.items()}
        series = {s: orjson.loads(orjson.dumps(w.series_state())) for s, w in first.symbols.items()}
        second = PartitionCandleBuilder.restore(plan, meta, opens, series)
        assert second.max_ts == first.max_ts
        out += feed(second, trades[cut:]) + second.advance(T0 + 30 * MINUTE)
        assert out == expected, f"restore after {cut} trades changed the candles"


def test_builder_reports_what_changed() -> None:
    builder = builder_for("1m", grace_ms=0)
    builder.add(make_trade(T0 + 1, symbol="BTCUSDT"))
    assert builder.dirty_meta and builder.dirty_open == {"BTCUSDT"} and not builder.dirty_series
    builder.dirty_meta, builder.dirty_open = False, set()
    builder.add(make_trade(T0 + MINUTE + 1, symbol="BTCUSDT"))
    assert builder.dirty_meta and builder.dirty_series == {"BTCUSDT"}


def test_trades_from_the_future_are_refused() -> None:
    trade = make_trade(T0 + 10 * MINUTE)
    check_not_in_future(trade, now_ms=T0 + 6 * MINUTE, max_ahead_ms=5 * MINUTE)
    with pytest.raises(FutureTrade, match="future"):
        check_not_in_future(trade, now_ms=T0 + 4 * MINUTE, max_ahead_ms=5 * MINUTE)


def test_weekly_intervals_are_refused() -> None:
    with pytest.raises(ValueError, match="weekly"):
        WindowPlan.of(["1m", "1w"], grace_ms=0)
