"""Property: random trades, arriving shuffled within the grace period, give the candles pandas computes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from candle_builder.windowing import PartitionCandleBuilder, WindowPlan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tickcast.contracts import Candle, Trade
from tickcast.intervals import interval_ms
from unit.candle_builder.samples import MINUTE, T0

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
INTERVAL_SETS = (("1m",), ("5m",), ("1m", "5m"), ("1m", "3m"), ("30s", "2m"))


@dataclass(frozen=True)
class Case:
    trades: list[Trade]  # in arrival order
    intervals: tuple[str, ...]
    grace_ms: int


@st.composite
def cases(draw: st.DrawFn) -> Case:
    grace_ms = draw(st.integers(0, 5_000))
    span = draw(st.sampled_from([2 * MINUTE, 12 * MINUTE, 45 * MINUTE]))
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(0, span),  # time offset
                st.sampled_from(SYMBOLS[: draw(st.integers(1, 3))]),
                st.integers(1, 10**7),  # price in cents
                st.integers(1, 10**9),  # quantity in 1e-8
                st.booleans(),  # buyer is maker
                st.integers(0, grace_ms),  # arrival delay
            ),
            min_size=1,
            max_size=120,
        )
    )
    rows.sort(key=lambda row: row[0])
    trades = []
    for trade_id, (offset, symbol, cents, units, buyer_maker, delay) in enumerate(rows, start=1):
        price, quantity = cents / 100, units / 10**8
        trade = Trade(
            symbol=symbol,
            trade_id=trade_id,
            price=price,
            quantity=quantity,
            quote_quantity=price * quantity,
            timestamp_ms=T0 + offset,
            is_buyer_maker=buyer_maker,
            source="synthetic",
        )
        trades.append((trade.timestamp_ms + delay, trade_id, trade))
    # Arrival order: each trade delayed by at most the grace period.
    arrival = [trade for _, _, trade in sorted(trades, key=lambda item: (item[0], item[1]))]
    return Case(arrival, draw(st.sampled_from(INTERVAL_SETS)), grace_ms)


def stream_candles(case: Case) -> tuple[list[Candle], int]:
    builder = PartitionCandleBuilder(WindowPlan.of(case.intervals, grace_ms=case.grace_ms))
    candles: list[Candle] = []
    for trade in case.trades:
        candles.extend(builder.add(trade))  # raises LateTrade if the shuffle broke the grace
    assert builder.max_ts is not None
    longest = max(interval_ms(interval) for interval in case.intervals)
    end = builder.max_ts - builder.max_ts % longest + longest
    candles.extend(builder.advance(end + case.grace_ms))
    return candles, end


def pandas_candles(trades: list[Trade], interval: str, end: int) -> pd.DataFrame:
    """The independent oracle: group, aggregate, then fill each symbol's empty windows up to ``end``."""
    span = interval_ms(interval)
    frame = pd.DataFrame(
        {
            "symbol": [t.symbol for t in trades],
            "ts": [t.timestamp_ms for t in trades],
            "id": [t.trade_id for t in trades],
            "price": [t.price for t in trades],
            "qty": [t.quantity for t in trades],
            "quote": [t.quote_quantity for t in trades],
            "taker": [not t.is_buyer_maker for t in trades],
        }
    ).sort_values(["ts", "id"])
    frame["window"] = frame["ts"] // span * span
    frame["taker_qty"] = frame["qty"].where(frame["taker"], 0.0)
    frame["taker_quote"] = frame["quote"].where(frame["taker"], 0.0)
    grouped = frame.groupby(["symbol", "window"]).agg(
        open=("price", "first"),
        high=("price", "max"),
        low=("price", "min"),
        close=("price", "last"),
        volume=("qty", "sum"),
        quote_volume=("quote", "sum"),
        trade_count=("id", "size"),
        taker_buy_base_volume=("taker_qty", "sum"),
        taker_buy_quote_volume=("taker_quote", "sum"),
        first_trade_id=("id", "first"),
        last_trade_id=("id", "last"),
    )
    filled = []
    for symbol, rows in grouped.groupby(level="symbol"):
        rows = rows.droplevel("symbol")
        windows = range(int(rows.index.min()), end, span)
        rows = rows.reindex(windows)
        rows["is_gap_fill"] = rows["trade_count"].isna()
        rows["close"] = rows["close"].ffill()
        for column in ("open", "high", "low"):
            rows[column] = rows[column].fillna(rows["close"])
        rows = rows.fillna({name: 0 for name in ("volume", "quote_volume", "trade_count")})
        rows = rows.fillna({"taker_buy_base_volume": 0, "taker_buy_quote_volume": 0})
        rows["symbol"] = symbol
        filled.append(rows)
    return pd.concat(filled).rename_axis("open_time_ms").reset_index()


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_stream_candles_equal_pandas(case: Case) -> None:
    candles, end = stream_candles(case)
    for interval in case.intervals:
        got = {(c.symbol, c.open_time_ms): c for c in candles if c.interval == interval}
        assert len(got) == len([c for c in candles if c.interval == interval]), "a window was emitted twice"
        expected = pandas_candles(case.trades, interval, end)
        assert set(got) == set(zip(expected["symbol"], expected["open_time_ms"], strict=True))
        for row in expected.itertuples(index=False):
            candle = got[(row.symbol, row.open_time_ms)]
            assert candle.is_gap_fill == row.is_gap_fill
            assert candle.trade_count == int(row.trade_count)
            for name in ("open", "high", "low", "close", "volume", "quote_volume"):
                assert close(getattr(candle, name), getattr(row, name)), (name, candle, row)
            assert close(candle.taker_buy_base_volume, row.taker_buy_base_volume)
            assert close(candle.taker_buy_quote_volume, row.taker_buy_quote_volume)
            if not row.is_gap_fill:
                assert (candle.first_trade_id, candle.last_trade_id) == (
                    row.first_trade_id,
                    row.last_trade_id,
                )
                assert close(candle.vwap, row.quote_volume / row.volume)
