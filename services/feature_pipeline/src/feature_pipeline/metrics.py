"""Prometheus metrics of the feature pipeline."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from tickcast.metrics import LATENCY_BUCKETS

CANDLES = Counter(
    "feature_pipeline_candles_total",
    "Candles consumed, by outcome (appended, restarted, duplicate, late, rejected).",
    ["outcome"],
)
GAP_FILLED = Counter("feature_pipeline_gap_filled_candles_total", "Missing candles filled with flat candles.")
VECTORS = Counter(
    "feature_pipeline_vectors_total", "Feature vectors written to the store and the features topic."
)
BATCH_SECONDS = Histogram(
    "feature_pipeline_batch_seconds", "Time to compute, store and publish one batch.", buckets=LATENCY_BUCKETS
)
STORE_WRITE_SECONDS = Histogram(
    "feature_pipeline_store_write_seconds", "Time of one feature-store write.", buckets=LATENCY_BUCKETS
)
BACKFILL_ROWS = Counter("feature_pipeline_backfill_rows_total", "Feature rows written by backfills.")
REREAD = Counter(
    "feature_pipeline_reread_candles_total",
    "Candles re-read from the topic because faust did not deliver them.",
)
