"""Generated candle series with a known answer: a learnable signal, or none at all.

``ar1``: one-candle log returns follow r_t = phi * r_t-1 + noise, so the last return
predicts the next ones and a model can beat "no change". ``random_walk``: i.i.d.
returns, where nothing can. Used to prove the models and the gate do what they claim;
every frame is marked ``source="synthetic"`` and generating one is logged loudly.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import structlog

from tickcast.intervals import interval_ms

log = structlog.get_logger(__name__)

Process = Literal["ar1", "random_walk"]


def synthetic_returns(n: int, process: Process, phi: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    noise = rng.normal(0.0, sigma, n)
    if process == "random_walk":
        return noise
    if process != "ar1":
        raise ValueError(f"unknown process {process!r}: expected ar1 or random_walk")
    returns = np.empty(n)
    previous = 0.0
    for index in range(n):
        previous = phi * previous + noise[index]
        returns[index] = previous
    return returns


def synthetic_candles(
    symbol: str,
    interval: str,
    start_ms: int,
    n: int,
    process: Process,
    phi: float = 0.4,
    sigma: float = 0.001,
    seed: int = 0,
    start_price: float = 30_000.0,
) -> pd.DataFrame:
    """A candle frame (the columns of ``tickcast.candle_frames.CANDLE_COLUMNS`` plus ``source``)."""
    log.warning("generating SYNTHETIC candles", symbol=symbol, interval=interval, n=n, process=process, phi=phi)
    rng = np.random.default_rng(seed)
    span = interval_ms(interval)
    open_time = start_ms - start_ms % span + span * np.arange(n, dtype=np.int64)
    close = start_price * np.exp(np.cumsum(synthetic_returns(n, process, phi, sigma, rng)))
    open_ = np.concatenate([[start_price], close[:-1]])
    wick = np.abs(rng.normal(0.0, sigma / 2, (2, n)))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    volume = rng.lognormal(mean=1.0, sigma=0.5, size=n)
    vwap = np.clip((open_ + close) / 2, low, high)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "interval": interval,
            "open_time_ms": open_time,
            "close_time_ms": open_time + span - 1,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "quote_volume": volume * vwap,
            "trade_count": rng.integers(1, 500, n),
            "taker_buy_base_volume": volume * rng.uniform(0.3, 0.7, n),
            "taker_buy_quote_volume": volume * vwap * rng.uniform(0.3, 0.7, n),
            "vwap": vwap,
            "is_gap_fill": False,
            "source": "synthetic",
        }
    )
