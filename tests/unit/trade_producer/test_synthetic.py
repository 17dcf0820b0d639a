"""Synthetic trades: reproducible, valid, and shaped like a market."""

from __future__ import annotations

import numpy as np

from trade_producer.encoding import encode_trades
from trade_producer.synthetic.trades import SyntheticTrades

START_MS = 1_704_067_200_000


def _trades(seed: int, symbol: str = "BTCUSDT", size: int = 20_000):
    return SyntheticTrades(symbol, seed, START_MS, 42_000.0).next_block(size)


def test_same_seed_gives_the_same_trades_whatever_the_block_sizes() -> None:
    whole = _trades(7, size=5_000)
    generator = SyntheticTrades("BTCUSDT", 7, START_MS, 42_000.0)
    pieces = [generator.next_block(n) for n in (1, 999, 4_000)]
    assert encode_trades("BTCUSDT", "synthetic", whole) == [
        value for piece in pieces for value in encode_trades("BTCUSDT", "synthetic", piece)
    ]


def test_other_seed_or_symbol_gives_other_trades() -> None:
    assert not np.array_equal(_trades(7).price, _trades(8).price)
    assert not np.array_equal(_trades(7, "BTCUSDT").timestamp_ms, _trades(7, "ETHUSDT").timestamp_ms)


def test_every_trade_satisfies_the_contract_with_consecutive_ids() -> None:
    trades = _trades(3, size=2_000)
    encoded = encode_trades("BTCUSDT", "synthetic", trades)
    for row in range(len(trades)):
        assert encoded[row] == trades.trade(row, "BTCUSDT", "synthetic").to_json_bytes()
    assert trades.trade_id.tolist() == list(range(1, 2_001))
    assert (np.diff(trades.timestamp_ms) >= 0).all()
    assert trades.timestamp_ms[0] >= START_MS


def _autocorrelation(values: np.ndarray, lag: int = 1) -> float:
    return float(np.corrcoef(values[lag:], values[:-lag])[0, 1])


def test_volatility_clusters_arrivals_burst_and_order_flow_persists() -> None:
    trades = _trades(11, size=50_000)
    returns = np.diff(np.log(trades.price))
    # Volatility clustering: large moves follow large moves (i.i.d. returns would give ~0).
    assert _autocorrelation(np.abs(returns), lag=5) > 0.05
    # Bursty arrivals: gaps vary more than a Poisson process's (coefficient of variation 1).
    gaps = np.diff(trades.timestamp_ms).astype(float)
    assert gaps.std() / gaps.mean() > 1.3
    # Order-flow imbalance: the taker side persists from trade to trade, yet both sides trade.
    taker_sold = trades.is_buyer_maker.astype(float)
    assert _autocorrelation(taker_sold) > 0.05
    assert 0.3 < taker_sold.mean() < 0.7
    # Prices stay on the 0.01 tick and near their start over 50k trades.
    assert np.allclose(trades.price * 100, np.round(trades.price * 100))
    assert 0.5 < trades.price[-1] / 42_000.0 < 2.0
