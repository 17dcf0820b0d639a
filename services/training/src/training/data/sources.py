"""Where feature frames come from: the offline feature store, exchange kline files, or generated candles.

All three give the offline store's shape (``symbol, interval, timestamp_ms,
feature_set_version, close`` + features), computed by the same feature code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import structlog

log = structlog.get_logger(__name__)

def utc_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def from_feature_store(symbols: Sequence[str], interval: str, start_ms: int, end_ms: int) -> pd.DataFrame:
    """Offline rows of the configured feature store (``FEATURE_STORE`` and its settings).

    Read by symbol and time range: features are already as of their own timestamp, so no
    point-in-time join is needed (and one would not fit a year of minutes in memory).
    """
    from tickcast.store import make_feature_store
    from tickcast.store.settings import FeatureStoreSettings

    store = make_feature_store(FeatureStoreSettings())
    try:
        frame = store.read_offline(list(symbols), interval, start_ms, end_ms)
    finally:
        store.close()
    log.info("features read from the offline store", rows=len(frame), symbols=list(symbols), interval=interval)
    return frame


def from_kline_files(root: Path, symbols: Sequence[str], interval: str, start: date, end: date) -> pd.DataFrame:
    """Features computed from exchange kline files under ``root`` for days ``start`` .. ``end`` - 1.

    The feature pipeline's loader and warm-up, so these rows equal what its backfill stores.
    """
    from tickcast.store.loaders import WARMUP_DAYS, DumpFileLoader
    from tickcast.features import compute_history

    loader = DumpFileLoader(root)
    start_ms, end_ms = utc_ms(start), utc_ms(end)
    frames = []
    for symbol in symbols:
        candles = loader.load(symbol, interval, start - timedelta(days=WARMUP_DAYS), end - timedelta(days=1))
        features = compute_history(candles)
        frames.append(features[(features["timestamp_ms"] >= start_ms) & (features["timestamp_ms"] < end_ms)])
        log.info("features computed from kline files", symbol=symbol, candles=len(candles), rows=len(frames[-1]))
    return pd.concat(frames, ignore_index=True)


def from_synthetic(symbols: Sequence[str], interval: str, candles: int, process: str, seed: int) -> pd.DataFrame:
    """Features of generated candles (``source="synthetic"``): demos and checks, never real training."""
    from tickcast.features import compute_history
    from training.data.synthetic import synthetic_candles

    start_ms = utc_ms(date(2024, 1, 1))
    history = pd.concat(
        [
            synthetic_candles(symbol, interval, start_ms, candles, process, seed=seed + index)  # type: ignore[arg-type]
            for index, symbol in enumerate(symbols)
        ],
        ignore_index=True,
    )
    return compute_history(history.drop(columns=["source"]))
