"""Prometheus metrics of the trade producer."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from tickcast.metrics import LATENCY_BUCKETS

TRADES_PRODUCED = Counter(
    "trade_producer_trades_produced_total", "Trades handed to Kafka.", ["symbol", "source"]
)
DUPLICATES_SKIPPED = Counter(
    "trade_producer_duplicates_skipped_total",
    "Trades not produced because their id was already on the topic.",
    ["symbol"],
)
RECONNECTS = Counter(
    "trade_producer_reconnects_total", "Websocket (re)connections after the first, by reason.", ["reason"]
)
GAP_FILL_TRADES = Counter(
    "trade_producer_gap_fill_trades_total", "Trades fetched from REST to fill a stream gap.", ["symbol"]
)
REJECTED_MESSAGES = Counter(
    "trade_producer_rejected_messages_total",
    "Exchange or file input refused (malformed, unknown, invalid).",
    ["source", "reason"],
)
REST_BACKOFFS = Counter(
    "trade_producer_rest_backoffs_total", "Pauses imposed by Binance rate limits or errors.", ["reason"]
)
PRODUCE_LATENCY = Histogram(
    "trade_producer_produce_latency_seconds",
    "From handing a trade to the producer until the broker acknowledged it.",
    buckets=LATENCY_BUCKETS,
)
MISSING_TRADES = Counter(
    "trade_producer_missing_trades_total",
    "Trades the exchange did not deliver by any means before the fill deadline (each hole is also a "
    "record on trades.dlq).",
    ["symbol", "stage"],
)
TRADE_HOLES = Counter(
    "trade_producer_trade_holes_total", "Runs of missing trade ids recorded on trades.dlq.", ["symbol", "stage"]
)
GAP_FILL_RETRIES = Counter(
    "trade_producer_gap_fill_retries_total",
    "Fills asked again because the exchange's trade database had not caught up with the stream yet.",
    ["symbol", "stage"],
)
PRODUCE_QUEUE_FULL_SECONDS = Counter(
    "trade_producer_produce_queue_full_seconds_total",
    "Time spent waiting (without blocking the event loop) for room in the producer's queue.",
)
