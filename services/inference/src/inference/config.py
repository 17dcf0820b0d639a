"""Every knob of the inference service, read from the environment (``INFERENCE_*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from tickcast.intervals import interval_ms
from tickcast.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INFERENCE_", env_file=".env", extra="ignore",
                                      populate_by_name=True)

    # The settings every service shares keep their shared names (LOG_LEVEL...) despite the prefix.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", validation_alias=AliasChoices("INFERENCE_LOG_LEVEL", "LOG_LEVEL"))
    log_format: Literal["json", "console"] = Field(
        "console", validation_alias=AliasChoices("INFERENCE_LOG_FORMAT", "LOG_FORMAT"))
    metrics_port: int = Field(0, ge=0, validation_alias=AliasChoices("INFERENCE_METRICS_PORT", "METRICS_PORT"))

    # What is served. The registered model name is derived from these unless given.
    symbols: str = Field("BTCUSDT", description="Comma-separated symbols the champion was trained on.")
    interval: str = Field("1m", description="Candle interval served; vectors of other intervals are skipped.")
    horizon: int = Field(5, ge=1, description="Candles ahead; used by the baseline before a champion exists.")
    model_name: str | None = Field(None, description="Registered model name; default from symbols/interval/horizon.")
    champion_poll_seconds: float = Field(10.0, gt=0, description="How often the champion alias is checked.")
    forecast_set_name: str | None = Field(
        None, description="Registered forecaster set (distribution, volatility, p_up); default from symbols/interval.")
    forecasts: bool = Field(True, description="Attach the forecaster set's forecasts to each prediction.")

    # Kafka consumption.
    group_id: str = Field("inference", description="Consumer group shared by every inference instance.")
    transactional_id: str | None = Field(
        None, description="Stable per instance (e.g. the pod name), so a restart fences its predecessor's open "
        "transaction at once instead of after the transaction timeout. Default: unique per process.",
    )
    session_timeout_ms: int = Field(
        45_000, ge=6_000, description="How long a silent instance keeps its partitions before the group moves them.",
    )
    restore_budget: int = Field(
        10_000, ge=0, description="Feature vectors read back per partition after an assignment to refill lag "
        "windows (about lag_window x symbols per partition); 0 turns it off.",
    )
    rebuild_budget: int = Field(
        10_000, ge=0, description="Candles and predictions read back per partition to rebuild Redis and the live "
        "scores from the topics at start-up and after Redis lost its data (about what Redis keeps per symbol x "
        "symbols per partition); 0 turns it off.",
    )
    rebuild_check_seconds: float = Field(
        5.0, gt=0, description="How often inference checks that Redis still holds what it rebuilt (one SMISMEMBER).",
    )
    batch_max_messages: int = Field(5000, ge=1, description="Most messages turned into one prediction batch.")
    batch_linger_ms: int = Field(20, ge=0, description="Wait after the first message for others arriving with it.")

    # Output.
    direction_dead_band: float = Field(
        0.0005, ge=0, description="|predicted log return| at or under this is 'flat' (also for hit rate)."
    )
    history_cap: int = Field(1440, ge=1, description="Predictions kept per symbol in Redis history.")
    history_ttl_seconds: int = Field(86_400, ge=1, description="TTL of a symbol's prediction history.")
    candles_cap: int = Field(1440, ge=1, description="Candles kept per symbol and interval in Redis.")
    candles_ttl_seconds: int = Field(86_400, ge=1, description="TTL of a symbol's recent candles.")

    # Live scoring.
    redis_backlog_batches: int = Field(
        10_000, ge=1, description="Batches kept for Redis while it is away (oldest dropped first).")
    redis_retry_seconds: float = Field(2.0, gt=0, description="How often a Redis that is away is tried again.")
    live_window: int = Field(500, ge=1, description="Scored predictions in the rolling live metrics.")
    max_pending_per_symbol: int = Field(
        256, ge=1, description="Unscored predictions kept per symbol (oldest dropped first)."
    )

    # Paper trading: a simulated portfolio per served model, never advice.
    paper_trading: bool = Field(True, description="Keep a paper portfolio per served model and symbol.")
    paper_fee_bps: float = Field(
        10.0, ge=0, le=1000, description="Fee per side in basis points of the traded notional (10 = 0.1 %); a "
        "position is entered only when the forecast's expected edge beats twice this.")
    paper_allow_short: bool = Field(False, description="Let paper portfolios go short (long/flat otherwise).")
    paper_curve_cap: int = Field(1440, ge=1, description="Equity-curve points kept per paper book in Redis.")
    # The live leaderboard and live promotion.
    leaderboard_window: int = Field(
        5_000, ge=10, description="Matured (symbol, target time) rows the live leaderboard is computed on, all "
        "symbols together (its cost in the consume loop grows with it).")
    leaderboard_seconds: float = Field(
        10.0, gt=0, description="How often the leaderboard (and any live-promotion decision) is computed.")
    live_promotion: bool = Field(
        False, description="Opt-in: make a challenger champion when its live MAE beats the champion's on the same "
        "matured predictions, significantly (Diebold-Mariano).")
    live_promotion_min_count: int = Field(
        500, ge=10, description="Paired matured predictions a challenger needs before a decision, and between two.")
    live_promotion_alpha: float = Field(
        0.05, gt=0, lt=1, description="Significance over every decision on a pair (spent look by look).")

    @property
    def symbol_list(self) -> list[str]:
        return [part.strip().upper() for part in self.symbols.split(",") if part.strip()]

    @property
    def interval_ms(self) -> int:
        return interval_ms(self.interval)
