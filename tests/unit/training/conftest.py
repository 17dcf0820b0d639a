"""Feature frames in the offline store's shape, built from generated candles."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.data.synthetic import Process, synthetic_candles

START_MS = 1_704_067_200_000  # 2024-01-01T00:00Z
MINUTE_MS = 60_000


def simple_feature_frame(candles: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Two return features and one pure-noise feature, as of each candle's close."""
    frames = []
    for symbol, rows in candles.groupby("symbol", sort=True):
        log_close = np.log(rows["close"].to_numpy())
        frame = pd.DataFrame(
            {
                "symbol": symbol,
                "interval": rows["interval"].to_numpy(),
                "timestamp_ms": rows["open_time_ms"].to_numpy(),
                "feature_set_version": "fs-unit",
                "close": rows["close"].to_numpy(),
                "ret_1": np.concatenate([[np.nan], np.diff(log_close)]),
                "ret_5": pd.Series(log_close).diff(5).to_numpy(),
                "noise": np.random.default_rng(seed).normal(size=len(rows)),
            }
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def generated_frame(process: Process, n: int, symbols: tuple[str, ...] = ("BTCUSDT",), seed: int = 1) -> pd.DataFrame:
    candles = pd.concat(
        [synthetic_candles(s, "1m", START_MS, n, process, seed=seed + i) for i, s in enumerate(symbols)],
        ignore_index=True,
    )
    return simple_feature_frame(candles, seed)
