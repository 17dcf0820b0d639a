"""Several symbols' synthetic trades merge into one event-time-ordered, reproducible stream."""

from __future__ import annotations

import numpy as np
from trade_producer.synthetic.trades import SyntheticTrades
from trade_producer.synthetic.merge import merged_slices

START_MS = 1_704_067_200_000
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


def _generators(seed: int = 7) -> list[SyntheticTrades]:
    return [SyntheticTrades(symbol, seed, START_MS, 100.0) for symbol in SYMBOLS]


def _flatten(trades_per_symbol: int, block: int, seed: int = 7) -> list[tuple[str, int, int]]:
    """(symbol, trade id, event time) in send order."""
    sent = []
    for piece in merged_slices(_generators(seed), trades_per_symbol, block):
        for run in piece.runs:
            sent += [(run.symbol, int(i), int(t)) for i, t in zip(run.trades.trade_id, run.trades.timestamp_ms)]
    return sent


def test_merged_stream_is_in_event_time_order_and_complete() -> None:
    sent = _flatten(1_000, block=300)
    times = [t for _, _, t in sent]
    assert times == sorted(times)
    for symbol in SYMBOLS:
        # Every trade once, in its own order, and the same trades the generator alone makes.
        ids = [i for s, i, _ in sent if s == symbol]
        assert ids == list(range(1, 1_001))
        alone = SyntheticTrades(symbol, 7, START_MS, 100.0).next_block(1_000)
        assert [t for s, _, t in sent if s == symbol] == alone.timestamp_ms.tolist()


def test_the_merge_is_the_same_whatever_the_block_size() -> None:
    assert _flatten(700, block=64) == _flatten(700, block=1_000)


def test_slice_times_follow_the_runs() -> None:
    for piece in merged_slices(_generators(), 400, 128):
        run_times = np.concatenate([run.trades.timestamp_ms for run in piece.runs])
        assert np.array_equal(run_times, piece.times)
        assert len(piece) == sum(len(run.trades) for run in piece.runs)


def test_endless_generators_keep_merging() -> None:
    slices = merged_slices(_generators(), 0, 100)
    sent = [next(slices) for _ in range(20)]
    times = np.concatenate([piece.times for piece in sent])
    assert len(times) > 1_000 and bool(np.all(np.diff(times) >= 0))
