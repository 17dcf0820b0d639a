"""Candles from a finite list of trades: the batch form of the service's windows.

Other code (a backfill, a notebook, a test oracle for klines) can build exactly
the candles the streaming service would, without Kafka.
"""

from __future__ import annotations

from collections.abc import Sequence

from tickcast.contracts import Candle, Trade

from candle_builder.windowing import PartitionCandleBuilder, WindowPlan


def build_candles(
    trades: Sequence[Trade],
    interval: str | Sequence[str],
    max_gap_fill_ms: int | None = None,
) -> list[Candle]:
    """Candles of ``trades`` (in any order) for one interval or several.

    The list is taken as complete, so no trade is late. Each symbol's series runs
    from its first trade's window to the end of the longest window holding the
    last trade of the whole list, windows without trades gap-filled (``None`` =
    gaps of any length). Ordered by symbol, interval length, open time.
    """
    intervals = [interval] if isinstance(interval, str) else list(interval)
    plan = WindowPlan.of(intervals, grace_ms=0, max_gap_fill_ms=max_gap_fill_ms)
    builder = PartitionCandleBuilder(plan)
    candles: list[Candle] = []
    for trade in sorted(trades, key=lambda trade: (trade.timestamp_ms, trade.trade_id)):
        candles.extend(builder.add(trade))
    if builder.max_ts is not None:
        longest = max(plan.spans)
        candles.extend(builder.advance(builder.max_ts - builder.max_ts % longest + longest))
    order = {name: index for index, name in enumerate(plan.intervals)}
    return sorted(candles, key=lambda candle: (candle.symbol, order[candle.interval], candle.open_time_ms))
