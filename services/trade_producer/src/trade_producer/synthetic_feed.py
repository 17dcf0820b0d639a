"""Send synthetic trades to the trades topic, as fast as possible or paced by their own clock."""

from __future__ import annotations

import threading
import time
from typing import Literal

import numpy as np
import structlog
from tqdm import tqdm

from trade_producer.columns import TradeColumns
from trade_producer.replay import ReplayClock, WallClock
from trade_producer.sink import TradeSink
from trade_producer.synthetic import SyntheticTrades

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
    """
    clock: ReplayClock | WallClock | None
    if speed == "live":
        clock = WallClock()
    else:
        clock = ReplayClock(speed) if speed is not None else None
    total = trades_per_symbol * len(generators) or None
    remaining = trades_per_symbol
    with tqdm(total=total, unit="trades", desc="synthetic", disable=not progress) as bar:
        while not stop.is_set() and (trades_per_symbol == 0 or remaining > 0):
            size = BLOCK if trades_per_symbol == 0 else min(BLOCK, remaining)
            blocks = [(generator.symbol, generator.next_block(size)) for generator in generators]
            if clock is None:
                sent = sum(sink.send_columns(symbol, SOURCE, block) for symbol, block in blocks)
            else:
                sent = _send_paced(blocks, sink, clock, stop)
            bar.update(sent)
            remaining -= size
    return sink.produced


def _send_paced(
    blocks: list[tuple[str, TradeColumns]], sink: TradeSink, clock: ReplayClock | WallClock, stop: threading.Event
) -> int:
    """Interleave the symbols' blocks by trade time and send each slice when it is due."""
    times = np.concatenate([block.timestamp_ms for _, block in blocks])
    owner = np.concatenate([np.full(len(block), index) for index, (_, block) in enumerate(blocks)])
    row = np.concatenate([np.arange(len(block)) for _, block in blocks])
    order = np.argsort(times, kind="stable")
    due = clock.due_seconds(times[order])
    sent = start = 0
    while start < len(order) and not stop.is_set():
        end = int(np.searchsorted(due, clock.elapsed(), side="right"))
        if end <= start:
            sink.poll()
            time.sleep(min(max(due[start] - clock.elapsed(), 0.0), 0.25))
            continue
        chunk = order[start:end]
        for index, (symbol, block) in enumerate(blocks):
            rows = row[chunk[owner[chunk] == index]]
            if len(rows):
                sent += sink.send_columns(symbol, SOURCE, block.take(rows))
        start = end
    return sent
