"""The gateway's own response and request bodies (messages themselves come from ``tickcast.contracts``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from tickcast.contracts import EpochMs, Symbol

EXAMPLE_MS = 1_704_067_200_000


class ErrorMessage(BaseModel):
    """Why a request could not be answered."""

    detail: str = Field(examples=["no prediction for symbol 'DOGEUSDT' yet"])


class SymbolFreshness(BaseModel):
    """How fresh one symbol's data is: its last trade on the trades topic and its last candle in the store."""

    symbol: Symbol
    stale: bool = Field(description="True when no trade arrived recently or the candles fell behind the trades.")
    reason: str | None = Field(None, examples=["no trade received for 5 min 12 s"])
    last_trade_time_ms: EpochMs | None = Field(None, description="The exchange's time of the newest trade.")
    last_trade_received_ms: EpochMs | None = Field(
        None, description="When the newest trade was put on the trades topic (the producer's clock)."
    )
    last_trade_age_s: float | None = Field(None, ge=0, description="Seconds since the newest trade arrived.")
    last_candle_close_ms: EpochMs | None = Field(None, description="End of the newest candle in the store.")
    last_candle_age_s: float | None = Field(None, ge=0, description="Seconds from that end to now.")
    candles_behind_trades_s: float | None = Field(
        None, ge=0, description="How far the newest candle ends before the newest trade (a candle closes only "
        "once its interval is over)."
    )


class Health(BaseModel):
    """Redis answered a PING (else a 503). ``degraded`` (still a 200: the API answers) when data is stale."""

    status: Literal["ready", "degraded"] = Field(
        "ready", description="degraded when a symbol's data is stale or the trades topic cannot be read."
    )
    problems: list[str] = Field(
        default_factory=list, description="What is wrong, one line each.",
        examples=[["BTCUSDT: no trade received for 5 min 12 s"]],
    )
    redis_latency_ms: float = Field(ge=0, description="Round trip of the PING.", examples=[0.4])
    live_subscription: bool = Field(
        description="True once the gateway listens to the predictions channel (WebSocket feed is live).",
    )
    stale_after_s: float = Field(description="No trade for this long makes a symbol stale.", examples=[60.0])
    freshness: list[SymbolFreshness] = Field(default_factory=list, description="Per symbol, sorted.")


class SymbolList(BaseModel):
    """Every symbol with candles or predictions in the store."""

    symbols: list[Symbol] = Field(examples=[["BTCUSDT", "ETHUSDT"]])


class SymbolRequestBody(BaseModel):
    """Ask the trade producer to start following a symbol."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"symbol": "SOLUSDT", "lookback_minutes": 60}]},
    )

    symbol: Symbol
    lookback_minutes: int | None = Field(
        None,
        ge=0,
        le=7 * 24 * 60,
        description="History to backfill first, in minutes; none for the producer's default.",
    )

    @field_validator("lookback_minutes", mode="before")
    @classmethod
    def _a_json_integer(cls, value: object) -> object:
        # JSON Schema's integer: 60 or 60.0, but not false (pydantic's lax mode reads it as 0) nor "60".
        is_integer = isinstance(value, int) and not isinstance(value, bool)
        if value is None or is_integer or (isinstance(value, float) and value.is_integer()):
            return value
        raise ValueError("must be a whole number of minutes")


class SymbolRequestAccepted(BaseModel):
    """The request is on the ``symbol-requests`` topic; the producer picks it up from there."""

    symbol: Symbol
    requested_at_ms: EpochMs
    lookback_minutes: int | None = None
    already_known: bool = Field(description="The store already had data for this symbol.")


class ServedModel(BaseModel):
    """The champion: the model inference currently serves."""

    name: str = Field(examples=["tickcast-btcusdt-1m-h5"])
    version: str = Field(examples=["3"])
    feature_set_version: str | None = Field(None, examples=["fs-3f2a9c1b"])
    loaded_at_ms: int | None = Field(None, examples=[EXAMPLE_MS])
    offline_metrics: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="Metrics measured on the held-out set when the model was trained.",
        examples=[{"mae": 0.00041, "persistence_mae": 0.00044, "skill": 0.068}],
    )
    attributes: dict[str, str] = Field(
        default_factory=dict,
        description="Any other field inference recorded about the model.",
    )


class LiveMetrics(BaseModel):
    """Rolling accuracy of one model on one symbol, measured against the prices that came true."""

    model_name: str = Field(examples=["tickcast-btcusdt-1m-h5"])
    model_version: str | None = Field(None, examples=["3"])
    symbol: Symbol
    mae: float | None = Field(
        None, description="Mean absolute error of the predicted return.", examples=[0.0004]
    )
    persistence_mae: float | None = Field(
        None,
        description="The same error for the no-change forecast, the baseline.",
        examples=[0.00043],
    )
    skill: float | None = Field(None, description="1 - mae / persistence_mae; above 0 beats the baseline.")
    hit_rate: float | None = Field(None, description="Share of predictions with the right direction.")
    count: int | None = Field(None, ge=0, description="Predictions scored so far.")
    additional: dict[str, float] = Field(default_factory=dict, description="Other numeric fields recorded.")


class ForecastLiveScore(BaseModel):
    """Rolling live scores of the forecaster serving one target of one symbol and horizon, measured on
    its matured forecasts (the last ones, up to inference's live window)."""

    symbol: Symbol
    horizon: int = Field(ge=1, description="Horizon in candles.", examples=[5])
    target: Literal["distribution", "volatility", "probability"] = Field(
        description="distribution: the return quantiles; volatility: the realized volatility; probability: p_up.")
    forecaster: str = Field(description="Model name, version and kind, or 'baseline <kind>'.",
                            examples=["baseline student_t"])
    coverage_80: float | None = Field(None, description="Share of outcomes inside the 80% band (nominal 0.80).")
    coverage_90: float | None = Field(None, description="Share of outcomes inside the 90% band (nominal 0.90).")
    pinball: float | None = Field(None, description="Mean pinball loss over the quantiles (log-return units).")
    qlike: float | None = Field(None, description="Mean QLIKE of the forecast variance (0 is perfect).")
    brier: float | None = Field(None, description="Mean Brier score of p_up.")
    count: int = Field(ge=0, description="Matured forecasts in the rolling window.")
    last_target_time_ms: int = Field(description="Target time of the newest scored forecast (UTC ms).")


class ModelVersion(BaseModel):
    """A model version seen in the newest prediction of at least one symbol."""

    model_name: str = Field(examples=["tickcast-btcusdt-1m-h5"])
    model_version: str = Field(examples=["3"])
    symbols: list[Symbol] = Field(description="Symbols whose newest prediction came from this version.")
    last_prediction_ms: EpochMs = Field(description="as_of_ms of its newest prediction.")


class ModelsOverview(BaseModel):
    """What is served, which versions are predicting, and how well they do, offline and live."""

    champion: ServedModel | None = Field(description="None until inference has loaded a model.")
    versions: list[ModelVersion]
    live_metrics: list[LiveMetrics]
    forecast_live_scores: list[ForecastLiveScore] = Field(
        default_factory=list, description="Live scores of the distribution, volatility and p_up forecasters.")
