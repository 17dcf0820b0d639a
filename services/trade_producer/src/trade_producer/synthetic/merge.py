"""Several symbols' synthetic trades merged into one stream in event-time order: pure logic, no I/O.

The candle builder closes windows on the largest event time seen in a partition,
so symbols that share a partition must arrive in time order: a whole block of one
symbol followed by the next symbol's block would make the second one's trades
late. Each generator yields its trades in time order; the merge only releases
trades up to the earliest "last generated" time among the symbols still
generating (nothing older can come after), and orders them by (time, symbol
position). The result is the same for a seed whatever the speed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from trade_producer.columns import TradeColumns
from trade_producer.synthetic.trades import SyntheticTrades


@dataclass(frozen=True)
class Run:
    """Consecutive trades of one symbol in the merged order."""

    symbol: str
    trades: TradeColumns


@dataclass(frozen=True)
class MergedSlice:
    """A stretch of the merged stream: runs in send order, and every trade's time in that order."""

    runs: list[Run]
    times: np.ndarray  # event time of every trade of the slice, in send order

    def __len__(self) -> int:
        return len(self.times)


class _Pending:
    __slots__ = ("generator", "left", "trades")

    def __init__(self, generator: SyntheticTrades, left: int | None) -> None:
        self.generator = generator
        self.left = left  # trades still to generate; None: endless
        self.trades: TradeColumns | None = None

    @property
    def generating(self) -> bool:
        return self.left is None or self.left > 0


def merged_slices(
    generators: list[SyntheticTrades], trades_per_symbol: int, block: int
) -> Iterator[MergedSlice]:
    """Every generator's trades (``trades_per_symbol`` each, 0: endless), merged by event time."""
    pending = [_Pending(generator, trades_per_symbol or None) for generator in generators]
    while True:
        for state in pending:
            if (state.trades is None or len(state.trades) == 0) and state.generating:
                size = block if state.left is None else min(block, state.left)
                state.trades = state.generator.next_block(size)
                if state.left is not None:
                    state.left -= size
        # Nothing a symbol still generating sends later can be older than its newest pending trade.
        horizons = [
            int(state.trades.timestamp_ms[-1])
            for state in pending
            if state.generating and state.trades is not None and len(state.trades)
        ]
        horizon = min(horizons) if horizons else None
        parts: list[tuple[int, TradeColumns]] = []
        for index, state in enumerate(pending):
            if state.trades is None or len(state.trades) == 0:
                continue
            cut = len(state.trades) if horizon is None else int(
                np.searchsorted(state.trades.timestamp_ms, horizon, side="right")
            )
            if cut:
                parts.append((index, state.trades.take(slice(0, cut))))
                state.trades = state.trades.take(slice(cut, None))
        if not parts:
            return
        yield _merge(generators, parts)


def _merge(generators: list[SyntheticTrades], parts: list[tuple[int, TradeColumns]]) -> MergedSlice:
    times = np.concatenate([trades.timestamp_ms for _, trades in parts])
    owner = np.concatenate([np.full(len(trades), position) for position, (_, trades) in enumerate(parts)])
    row = np.concatenate([np.arange(len(trades)) for _, trades in parts])
    # Stable sort of parts concatenated in generator order: ties go to the earlier symbol.
    order = np.argsort(times, kind="stable")
    owner, row = owner[order], row[order]
    # Runs: where the owner changes in the merged order.
    breaks = np.flatnonzero(np.diff(owner)) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [len(order)]))
    runs = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        generator_index, trades = parts[int(owner[start])]
        runs.append(Run(generators[generator_index].symbol, trades.take(row[start:end])))
    return MergedSlice(runs, times[order])
