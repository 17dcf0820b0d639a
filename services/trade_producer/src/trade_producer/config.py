"""Every knob of the trade producer, read from ``TRADE_PRODUCER_*`` variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tickcast.settings import ServiceSettings

DEFAULT_SYMBOLS = "BTCUSDT,ETHUSDT"


class Settings(ServiceSettings):
    """Configuration of ``python -m trade_producer``.

    The prefix keeps this service's ``LOG_LEVEL`` and ``METRICS_PORT`` apart from
    the other services' when they share one ``.env``.
    """

    model_config = SettingsConfigDict(env_prefix="TRADE_PRODUCER_", env_file=".env", extra="ignore")

    symbols: str = Field(DEFAULT_SYMBOLS, description="Comma-separated symbols streamed live.")
    binance_api_url: str = Field("https://api.binance.com/api", description="REST base URL (ends in /api).")
    binance_api_key: str | None = Field(None, description="Optional API key (public market data needs none).")
    binance_stream_url: str = Field("wss://stream.binance.com:9443/", description="Websocket base URL.")
    streams_per_connection: int = Field(
        200, ge=1, le=1024, description="Symbols multiplexed on one websocket."
    )
    stream_connections_per_5_minutes: int = Field(
        250, ge=1, description="Websocket connection attempts allowed per 5 minutes (Binance: 300 per IP)."
    )
    producer_queue_messages: int = Field(
        500_000,
        ge=100,
        description="Trades the live and backfill producer queues while the broker is away; when full, "
        "the stream waits without blocking its event loop.",
    )
    socket_queue_size: int = Field(10_000, ge=100, description="Messages buffered per websocket connection.")
    reconnect_initial_seconds: float = Field(1.0, gt=0, description="First back-off after a disconnect.")
    reconnect_max_seconds: float = Field(60.0, gt=0, description="Ceiling of the exponential back-off.")
    connection_max_age_seconds: float = Field(
        23 * 3600.0, gt=0, description="Reconnect proactively before Binance's 24 h connection limit."
    )
    gap_fill_max_trades: int = Field(
        1_000_000, ge=0, description="Largest gap filled from REST after a reconnect; a bigger one is recorded as a hole."
    )
    gap_fill_deadline_seconds: float = Field(
        60.0,
        gt=0,
        description="How long a fill keeps asking for trades the exchange's database does not hold yet; "
        "then the missing ids are recorded as a hole (metric and trades.dlq).",
    )
    gap_fill_hold_trades: int = Field(
        200_000, ge=1, description="Live trades of one symbol held back during its gap fill before it stops waiting."
    )
    rest_page_size: int = Field(1000, ge=1, le=1000, description="Trades per REST page (Binance max 1000).")
    rest_weight_budget: int = Field(
        4800, ge=1, description="Pause REST paging when X-MBX-USED-WEIGHT-1M reaches this (limit is 6000)."
    )
    rest_max_retries: int = Field(
        8, ge=0, description="Retries of one REST call after 429/418/5xx/network errors."
    )
    control_lookback_minutes: int = Field(
        60, ge=0, description="History backfilled for a symbol added through the control topic."
    )
    dedupe_scan_chunk: int = Field(
        5_000, ge=1, description="Messages read per step when scanning the trades topic tail at start-up."
    )
    delivery_timeout_seconds: float = Field(
        300.0,
        gt=0,
        description="How long the live and backfill producer retries a trade while the broker is away "
        "(librdkafka's delivery.timeout.ms); the exchange connection is kept meanwhile.",
    )
    # Above every producer's delivery timeout (this service's, and tickcast.kafka's 120 s): while the broker
    # restarts, librdkafka keeps retrying the queued trades, and the exit flush must not give up before it does.
    flush_timeout_seconds: float = Field(330.0, gt=0, description="Longest wait for delivery reports on exit.")

    def symbol_list(self) -> list[str]:
        return parse_symbols(self.symbols)


def parse_symbols(text: str) -> list[str]:
    """``"btcusdt, ETHUSDT"`` -> ``["BTCUSDT", "ETHUSDT"]``, order kept, duplicates dropped."""
    seen: dict[str, None] = {}
    for part in text.split(","):
        if symbol := part.strip().upper():
            seen.setdefault(symbol, None)
    return list(seen)
