"""Candles say where their prices came from: the source of their trades, through gap fills and restores."""

from __future__ import annotations

import orjson
import pytest
from candle_builder.accumulator import CandleAccumulator
from candle_builder.aggregate import build_candles
from candle_builder.windowing import PartitionCandleBuilder, WindowPlan
from tickcast.contracts import Candle, least_trusted
from unit.candle_builder.samples import MINUTE, T0, make_trade


@pytest.mark.parametrize(
    ("trade_source", "candle_source"),
    [("live", "binance"), ("gap_fill", "binance"), ("backfill", "binance"), ("replay", "replay"),
     ("synthetic", "synthetic")],
)
def test_a_candle_takes_the_source_of_its_trades(trade_source: str, candle_source: str) -> None:
    trades = [make_trade(T0 + i * 1_000, source=trade_source) for i in range(3)]
    (candle,) = build_candles(trades, "1m")
    assert candle.source == candle_source


@pytest.mark.parametrize(
    ("sources", "expected"),
    [(("live", "synthetic"), "synthetic"), (("replay", "live"), "replay"), (("synthetic", "replay"), "synthetic")],
)
def test_a_window_mixing_sources_is_labelled_with_the_least_trustworthy(
    sources: tuple[str, str], expected: str
) -> None:
    # Whatever the order the trades arrive in, and when 1m windows are rolled into a 5m one.
    trades = [make_trade(T0 + i * 20_000, source=sources[i % 2]) for i in range(6)]
    for ordered in (trades, trades[::-1]):
        candles = build_candles(ordered, ["1m", "5m"])
        assert {c.source for c in candles if c.interval == "5m"} == {expected}
        assert {c.source for c in candles if c.interval == "1m" and c.open_time_ms == T0} == {expected}


def test_least_trusted_is_symmetric_and_synthetic_always_wins() -> None:
    sources = ("binance", "replay", "synthetic", "unknown")
    for first in sources:
        assert least_trusted(first, "synthetic") == least_trusted("synthetic", first) == "synthetic"
        for second in sources:
            assert least_trusted(first, second) == least_trusted(second, first)
    assert least_trusted("binance", "replay") == "replay"


def test_gap_fills_inherit_the_previous_candles_source() -> None:
    trades = [make_trade(T0, price=5.0, source="replay"), make_trade(T0 + 4 * MINUTE, price=6.0, source="replay")]
    candles = build_candles(trades, "1m")
    gap_fills = [c for c in candles if c.is_gap_fill]
    assert len(gap_fills) == 3
    assert {c.source for c in candles} == {"replay"}


def test_restore_keeps_the_source_of_open_windows_and_of_gap_fills() -> None:
    plan = WindowPlan.of(["1m"], grace_ms=0)
    first = PartitionCandleBuilder(plan)
    emitted = first.add(make_trade(T0, source="live"))
    emitted += first.add(make_trade(T0 + MINUTE, source="live"))  # closes T0's window
    emitted += first.add(make_trade(T0 + MINUTE + 10, source="live"))
    meta = orjson.loads(orjson.dumps(first.meta_state()))
    opens = {s: orjson.loads(orjson.dumps(w.open_state())) for s, w in first.symbols.items()}
    series = {s: orjson.loads(orjson.dumps(w.series_state())) for s, w in first.symbols.items()}
    second = PartitionCandleBuilder.restore(plan, meta, opens, series)
    emitted += second.advance(T0 + 4 * MINUTE)  # the open window, then two gap fills
    assert [(c.open_time_ms, c.is_gap_fill, c.source) for c in emitted] == [
        (T0, False, "binance"),
        (T0 + MINUTE, False, "binance"),
        (T0 + 2 * MINUTE, True, "binance"),
        (T0 + 3 * MINUTE, True, "binance"),
    ]


def test_state_written_before_sources_existed_restores_as_unknown() -> None:
    accumulator = CandleAccumulator()
    accumulator.add(make_trade(T0, source="live"))
    old_state = accumulator.to_list()[:-1]  # the layout before the source was stored
    restored = CandleAccumulator.from_list(old_state)
    assert restored.source == "unknown"
    assert restored.to_candle("BTCUSDT", "1m", T0).close == accumulator.to_candle("BTCUSDT", "1m", T0).close


def test_a_candle_without_source_parses_as_unknown() -> None:
    (candle,) = build_candles([make_trade(T0, source="live")], "1m")
    payload = orjson.loads(candle.to_json_bytes())
    del payload["source"]
    assert Candle.parse(payload).source == "unknown"
    assert Candle.parse(candle.to_json_bytes()).source == "binance"
