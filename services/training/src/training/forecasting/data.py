"""Closes for the forecasters, from the same sources as the point models, pooled over symbols.

Forecasters need only each symbol's closes. Symbols are laid end to end in one series, each
followed by a day of unknown returns, so no trailing window ever spans two symbols.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import structlog

from tickcast.forecast.history import LONGEST_WINDOW, History
from tickcast.forecast.targets import CloseGrid, HorizonTargets, horizon_targets

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PooledCloses:
    symbols: list[str]
    interval_ms: int
    history: History  # series over all symbols, separated by unknown returns
    grid: CloseGrid  # the same rows' closes and times
    symbol_of_row: np.ndarray
    source: str  # where the prices came from: binance, replay, synthetic

    def targets(self, horizon: int) -> HorizonTargets:
        return horizon_targets(self.grid, horizon)

    @property
    def times(self) -> np.ndarray:
        return self.grid.timestamps_ms


def pool(frames: dict[str, pd.DataFrame], interval_ms: int, source: str, time_column: str) -> PooledCloses:
    times, closes, symbols = [], [], []
    for symbol, frame in frames.items():
        grid = CloseGrid.from_frame(frame, interval_ms, time_column)
        separator = LONGEST_WINDOW + 1
        times += [grid.timestamps_ms, grid.timestamps_ms[-1] + interval_ms * np.arange(1, separator + 1)]
        closes += [grid.closes, np.full(separator, np.nan)]
        symbols += [np.full(len(grid) + separator, symbol)]
    grid = CloseGrid(np.concatenate(times), np.concatenate(closes), interval_ms)
    history = History.series(grid.returns, grid.timestamps_ms, interval_ms)
    return PooledCloses(list(frames), interval_ms, history, grid, np.concatenate(symbols), source)


def closes_from_klines(root: Path, symbols: Sequence[str], interval: str, interval_ms: int, start: date,
                       end: date) -> PooledCloses:
    """Exchange kline files for days ``start`` .. ``end`` - 1, plus a warm-up day before ``start``."""
    from tickcast.store.loaders import DumpFileLoader

    loader = DumpFileLoader(root)
    frames = {}
    for symbol in symbols:
        candles = loader.load(symbol, interval, start - timedelta(days=1), end - timedelta(days=1))
        if candles.empty:
            raise ValueError(f"no {symbol} {interval} klines under {root} for {start} .. {end}")
        frames[symbol] = candles
        log.info("closes read from kline files", symbol=symbol, candles=len(candles))
    return pool(frames, interval_ms, "replay", "open_time_ms")


def closes_from_frame(frame: pd.DataFrame, interval_ms: int, source: str) -> PooledCloses:
    """A feature frame (offline store or generated): its ``close`` per symbol and ``timestamp_ms``."""
    frames = {str(symbol): rows.sort_values("timestamp_ms") for symbol, rows in frame.groupby("symbol", sort=True)}
    return pool(frames, interval_ms, source, "timestamp_ms")
