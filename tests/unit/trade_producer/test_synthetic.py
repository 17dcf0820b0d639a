"""Synthetic trades: reproducible, valid, and shaped like a market."""

from __future__ import annotations

import numpy as np

from trade_producer.columns import TradeColumns
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


def _per_minute(trades, since_ms: int, until_ms: int) -> tuple[float, float, float]:
    """Trades per minute, the std of one-minute log returns, and the mean volume per minute, in [since, until)."""
    inside = (trades.timestamp_ms >= since_ms) & (trades.timestamp_ms < until_ms)
    minute = (trades.timestamp_ms[inside] - since_ms) // 60_000
    minutes = int((until_ms - since_ms) // 60_000)
    last_price = np.full(minutes, np.nan)
    last_price[minute] = trades.price[inside]  # the last trade of each minute wins
    closes = last_price[~np.isnan(last_price)]
    volume = np.bincount(minute, weights=trades.quantity[inside], minlength=minutes)
    return inside.sum() / minutes, float(np.diff(np.log(closes)).std()), float(volume.mean())


def test_a_thinned_history_has_a_share_of_the_trades_with_the_same_minutes() -> None:
    hours = 3_600_000
    until = START_MS + 6 * hours  # six hours of thinned history, then six of the full market
    generator = SyntheticTrades("BTCUSDT", 5, START_MS, 42_000.0, history_share=0.2, history_until_ms=until)
    blocks = []
    while not blocks or blocks[-1].timestamp_ms[-1] < until + 6 * hours:
        blocks.append(generator.next_block(50_000))
    trades = TradeColumns(**{name: np.concatenate([getattr(block, name) for block in blocks]) for name in (
        "trade_id", "price", "quantity", "quote_quantity", "timestamp_ms", "is_buyer_maker")})
    rate_before, volatility_before, volume_before = _per_minute(trades, START_MS, until)
    rate_after, volatility_after, volume_after = _per_minute(trades, until, until + 6 * hours)
    assert 0.15 < rate_before / rate_after < 0.25  # a fifth of the trades
    assert 0.7 < volatility_before / volatility_after < 1.4  # each minute moves as much
    assert 0.7 < volume_before / volume_after < 1.4  # and trades as much volume
    assert trades.trade_id.tolist() == list(range(1, len(trades.trade_id) + 1))
    # Reproducible: the same seed, share and moment give the same trades.
    again = SyntheticTrades("BTCUSDT", 5, START_MS, 42_000.0, history_share=0.2, history_until_ms=until)
    assert np.array_equal(again.next_block(10_000).price, trades.price[:10_000])
