"""Send synthetic trades to the trades topic, as fast as possible or paced by their own clock."""

from __future__ import annotations

import threading
import time
from typing import Literal

import numpy as np
import structlog
from tickcast.progress import progress_bar

from trade_producer.replay import ReplayClock, WallClock
from trade_producer.sink import TradeSink
from trade_producer.synthetic import SyntheticTrades
from trade_producer.synthetic_merge import MergedSlice, merged_slices

log = structlog.get_logger(__name__)

SOURCE = "synthetic"
BLOCK = 2_000
# Rough late-2023 levels, so demo charts look plausible; anything else starts at 100.
START_PRICES = {"BTCUSDT": 42_000.0, "ETHUSDT": 2_300.0, "SOLUSDT": 100.0, "BNBUSDT": 310.0}


def warn_not_real(symbols: list[str]) -> None:
    log.warning(
        "SYNTHETIC TRADES: THESE PRICES ARE NOT REAL. Every message carries source='synthetic'. "
        "Do not train or evaluate on them as market data.",
        symbols=symbols,
    )


def run_synthetic(
    generators: list[SyntheticTrades],
    sink: TradeSink,
    trades_per_symbol: int,
    speed: float | Literal["live"] | None,
    stop: threading.Event,
    progress: bool = True,
) -> int:
    """Produce ``trades_per_symbol`` trades for each generator (0: until stopped); returns the count.

    ``speed`` is N x the trades' own clock, ``"live"`` for the wall clock, or None for full speed.
    At every speed the symbols are interleaved by event time (``synthetic_merge``), so symbols that
    share a partition never make each other's trades late in the candle builder.
    """
    clock: ReplayClock | WallClock | None
    if speed == "live":
        clock = WallClock()
    else:
        clock = ReplayClock(speed) if speed is not None else None
    total = trades_per_symbol * len(generators) or None
    with progress_bar(total=total, unit="trades", desc="synthetic", disable=not progress) as bar:
        for piece in merged_slices(generators, trades_per_symbol, BLOCK):
            if stop.is_set():
                break
            if clock is None:
                sent = sum(sink.send_columns(run.symbol, SOURCE, run.trades) for run in piece.runs)
            else:
                sent = _send_paced(piece, sink, clock, stop)
            bar.update(sent)
    return sink.produced


def _send_paced(piece: MergedSlice, sink: TradeSink, clock: ReplayClock | WallClock, stop: threading.Event) -> int:
    """Send the slice's trades in merged order, each once it is due."""
    due = clock.due_seconds(piece.times)
    sent = position = 0  # position: trades of the slice sent so far
    for run in piece.runs:
        offset = 0
        while offset < len(run.trades) and not stop.is_set():
            ready = int(np.searchsorted(due, clock.elapsed(), side="right")) - position
            if ready <= 0:
                sink.poll()
                time.sleep(min(max(due[position] - clock.elapsed(), 0.0), 0.25))
                continue
            count = min(ready, len(run.trades) - offset)
            sent += sink.send_columns(run.symbol, SOURCE, run.trades.take(slice(offset, offset + count)))
            offset += count
            position += count
        if stop.is_set():
            break
    return sent
