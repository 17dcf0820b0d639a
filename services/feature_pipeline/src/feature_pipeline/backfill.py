"""Historical backfill: candles -> the same feature computation as the stream -> offline store.

Features need a warm-up (a day of hourly closes for the hourly moving averages), so
candles are loaded from :data:`WARMUP_DAYS` before ``start``; only vectors from
``start`` on are written. Writes are idempotent upserts: a backfill can be re-run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import structlog
from tickcast.progress import progress_bar

from feature_pipeline import metrics
from tickcast.store.loaders import WARMUP_DAYS, CandleLoader, day_bounds_ms
from tickcast.store import FeatureStore
from tickcast.features import compute_history

log = structlog.get_logger(__name__)

WRITE_CHUNK_ROWS = 200_000


@dataclass
class BackfillReport:
    candles: int = 0
    rows: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        rate = self.candles / self.seconds if self.seconds else 0.0
        return (
            f"backfilled {self.rows:,} feature rows from {self.candles:,} candles "
            f"in {self.seconds:.1f} s ({rate:,.0f} candles/s)"
        )


def run_backfill(
    loader: CandleLoader,
    store: FeatureStore,
    symbols: Sequence[str],
    interval: str,
    start: date,
    end: date,
) -> BackfillReport:
    report = BackfillReport()
    started = time.perf_counter()
    start_ms, end_ms = day_bounds_ms(start, end)
    with progress_bar(desc="backfill", unit="candle", unit_scale=True, total=0) as progress:
        for symbol in symbols:
            progress.set_postfix_str(symbol)
            try:
                candles = loader.load(symbol, interval, start - timedelta(days=WARMUP_DAYS), end)
            except FileNotFoundError as error:
                log.error("no candles to backfill", symbol=symbol, error=str(error))
                continue
            progress.total += len(candles)
            features = compute_history(candles)
            features = features[(features["timestamp_ms"] >= start_ms) & (features["timestamp_ms"] < end_ms)]
            chunks = range(0, max(len(features), 1), WRITE_CHUNK_ROWS)
            for first in chunks:
                store.write_history(features.iloc[first : first + WRITE_CHUNK_ROWS])
                progress.update(len(candles) // len(chunks))
            progress.update(len(candles) % len(chunks))
            report.candles += len(candles)
            report.rows += len(features)
            metrics.BACKFILL_ROWS.inc(len(features))
            log.info(
                "symbol backfilled",
                symbol=symbol,
                interval=interval,
                candles=len(candles),
                rows=len(features),
            )
    report.seconds = time.perf_counter() - started
    return report
