"""Prometheus metrics of the candle builder."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from tickcast.metrics import LATENCY_BUCKETS

TRADES_IN = Counter("candle_builder_trades_in_total", "Trade messages read from the trades topic.")
TRADES_ACCEPTED = Counter("candle_builder_trades_accepted_total", "Trades that went into a candle window.")
TRADES_LATE = Counter(
    "candle_builder_trades_late_total", "Trades whose window had closed (sent to the dead-letter topic)."
)
TRADES_REJECTED = Counter(
    "candle_builder_trades_rejected_total",
    "Trade messages refused for another reason (sent to the dead-letter topic).",
    ["error_type"],
)
CANDLES_OUT = Counter("candle_builder_candles_out_total", "Candles produced.", ["interval", "kind"])
GAP_WINDOWS_SKIPPED = Counter(
    "candle_builder_gap_windows_skipped_total",
    "Empty windows not gap-filled because the stretch without trades was too long.",
)
WINDOW_CLOSE_LAG = Histogram(
    "candle_builder_window_close_lag_seconds",
    "Wall-clock time from a window's end plus grace to its candle being produced "
    "(for replays of old trades this is the age of the data).",
    buckets=LATENCY_BUCKETS,
)
WATERMARK_LAG = Gauge(
    "candle_builder_watermark_lag_seconds",
    "Wall clock minus the partition's event-time watermark.",
    ["partition"],
)
