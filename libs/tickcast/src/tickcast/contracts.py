"""The messages that travel between services: one definition each.

Every message is a pydantic model serialised as JSON with a ``schema_version``,
so a consumer can tell an old payload from a malformed one. Parsing never
returns a half-valid object: it raises :class:`ContractError`, which names the
model, the field and the offending value.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tickcast.intervals import interval_ms

SCHEMA_VERSION = 1

# Epoch-millisecond bounds (2010-01-01 .. 2100-01-01). Binance's newer dump files
# use microseconds; a timestamp outside this range is a unit error, not a trade.
MIN_EPOCH_MS = 1_262_304_000_000
MAX_EPOCH_MS = 4_102_444_800_000

Symbol = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,30}$", examples=["BTCUSDT"])]
EpochMs = Annotated[int, Field(ge=MIN_EPOCH_MS, lt=MAX_EPOCH_MS, examples=[1_704_067_200_000])]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]

TradeSource = Literal["live", "gap_fill", "backfill", "replay", "synthetic"]
Direction = Literal["up", "down", "flat"]

# Where a candle's (and so a feature vector's and a prediction's) prices came from, so a user can
# always tell market prices from made-up ones. Trades from the exchange (live, gap fill, REST
# backfill) and the exchange's klines are "binance"; a dump-file replay is "replay" (real but
# historical); "synthetic" is generated. "unknown" is only the default for payloads written before
# the field existed: nothing is claimed about them, and they are not presented as market prices.
DataSource = Literal["binance", "replay", "synthetic", "unknown"]

# Least trustworthy first: a window mixing sources takes the first of this order (synthetic wins),
# so a label never claims more than the worst of its inputs.
DATA_SOURCE_DISTRUST: tuple[DataSource, ...] = ("synthetic", "unknown", "replay", "binance")

_DATA_SOURCE_OF_TRADE: dict[str, DataSource] = {
    "live": "binance",
    "gap_fill": "binance",
    "backfill": "binance",
    "replay": "replay",
    "synthetic": "synthetic",
}


def data_source_of_trade(source: TradeSource) -> DataSource:
    """The data source a trade's own ``source`` (how it was fetched) stands for."""
    return _DATA_SOURCE_OF_TRADE[source]


def least_trusted(first: DataSource, second: DataSource) -> DataSource:
    """The less trustworthy of two sources: the label of anything built from both."""
    if first == second:
        return first
    return first if DATA_SOURCE_DISTRUST.index(first) < DATA_SOURCE_DISTRUST.index(second) else second



class ContractError(ValueError):
    """A payload that does not satisfy its contract.

    ``field`` and ``value`` name the first offending field and what it held, so
    that a dead-letter record says exactly what was wrong.
    """

    def __init__(self, model: str, field: str, value: Any, reason: str) -> None:
        self.model = model
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{model}.{field}: {reason} (got {_preview(value)})")


def _preview(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


class Contract(BaseModel):
    """Base of every message: strict about unknown fields, JSON on the wire."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    # Bumped when a field changes meaning; consumers reject versions they do not know.
    SUPPORTED_VERSIONS: ClassVar[frozenset[int]] = frozenset({SCHEMA_VERSION})

    schema_version: int = SCHEMA_VERSION

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, version: int) -> int:
        if version not in cls.SUPPORTED_VERSIONS:
            raise ValueError(f"unsupported schema_version, this build reads {sorted(cls.SUPPORTED_VERSIONS)}")
        return version

    @classmethod
    def parse(cls, payload: bytes | str | dict[str, Any]) -> Self:
        """Parse JSON bytes, a JSON string or a dict; raise :class:`ContractError`."""
        try:
            if isinstance(payload, dict):
                return cls.model_validate(payload)
            return cls.model_validate_json(payload)
        except ValidationError as exc:
            raise _contract_error(cls.__name__, exc, payload) from None

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @property
    def key(self) -> bytes:
        """The Kafka message key: every topic is keyed by symbol."""
        return self.symbol.encode()  # type: ignore[attr-defined]


def _contract_error(model: str, exc: ValidationError, payload: Any) -> ContractError:
    first = exc.errors(include_url=False)[0]
    location = ".".join(str(part) for part in first["loc"]) or "<payload>"
    if first["type"] == "json_invalid":
        return ContractError(model, "<payload>", payload, f"not valid JSON: {first['msg']}")
    return ContractError(model, location, first.get("input"), first["msg"])


class Trade(Contract):
    """One trade (or one aggregate trade) as the exchange reported it."""

    symbol: Symbol
    trade_id: Annotated[int, Field(ge=0)]
    price: PositiveFloat
    quantity: PositiveFloat
    quote_quantity: NonNegativeFloat
    timestamp_ms: EpochMs = Field(description="Exchange trade time, epoch milliseconds (event time).")
    is_buyer_maker: bool = Field(description="True when the buyer was the maker, i.e. the taker sold.")
    source: TradeSource
    # Aggregate trades (Binance aggTrades) stand for a run of trades; candles count
    # them as last - first + 1. Both are None for a plain trade.
    first_trade_id: Annotated[int, Field(ge=0)] | None = None
    last_trade_id: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _aggregate_ids(self) -> Self:
        if (self.first_trade_id is None) != (self.last_trade_id is None):
            raise ValueError("first_trade_id and last_trade_id come together (aggregate trade) or not at all")
        if self.first_trade_id is not None and self.last_trade_id < self.first_trade_id:  # type: ignore[operator]
            raise ValueError("last_trade_id is before first_trade_id")
        return self

    @property
    def is_aggregate(self) -> bool:
        return self.first_trade_id is not None

    @property
    def trade_count(self) -> int:
        """Exchange trades this record stands for (the kline's ``count``)."""
        if self.first_trade_id is None or self.last_trade_id is None:
            return 1
        return self.last_trade_id - self.first_trade_id + 1

    @property
    def dedupe_key(self) -> tuple[str, str, int]:
        # Aggregate and plain trade ids are separate id spaces on the exchange.
        return (self.symbol, "agg" if self.is_aggregate else "trade", self.trade_id)


class Candle(Contract):
    """An OHLCV candle with the same fields and meaning as an exchange kline."""

    symbol: Symbol
    interval: str = Field(examples=["1m"])
    open_time_ms: EpochMs
    close_time_ms: EpochMs
    open: PositiveFloat
    high: PositiveFloat
    low: PositiveFloat
    close: PositiveFloat
    volume: NonNegativeFloat
    quote_volume: NonNegativeFloat
    trade_count: Annotated[int, Field(ge=0)]
    taker_buy_base_volume: NonNegativeFloat
    taker_buy_quote_volume: NonNegativeFloat
    vwap: PositiveFloat
    first_trade_id: Annotated[int, Field(ge=0)] | None = None
    last_trade_id: Annotated[int, Field(ge=0)] | None = None
    is_gap_fill: bool = Field(False, description="No trades in the window: flat at the previous close.")
    source: DataSource = Field(
        "unknown",
        description='Where the prices came from: "binance" (exchange), "replay" (historical exchange data '
        'replayed), "synthetic" (generated, not market prices), "unknown" (written before the field existed).',
    )

    @field_validator("interval")
    @classmethod
    def _known_interval(cls, interval: str) -> str:
        interval_ms(interval)
        return interval

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        span = interval_ms(self.interval)
        if self.open_time_ms % span:
            raise ValueError(f"open_time_ms is not aligned to the {self.interval} grid")
        if self.close_time_ms != self.open_time_ms + span - 1:
            raise ValueError("close_time_ms must be open_time_ms + interval - 1")
        if not self.low <= min(self.open, self.close) <= max(self.open, self.close) <= self.high:
            raise ValueError("prices violate low <= open, close <= high")
        if self.is_gap_fill and (self.trade_count or self.volume):
            raise ValueError("a gap-fill candle has no trades and no volume")
        return self


class FeatureVector(Contract):
    """The model inputs for one symbol at the close of one candle."""

    symbol: Symbol
    interval: str = Field(examples=["1m"])
    timestamp_ms: EpochMs = Field(description="Open time of the candle the features are as of.")
    feature_set_version: str = Field(min_length=1, examples=["fs-3f2a9c1b"])
    values: dict[str, float]
    close: PositiveFloat | None = Field(None, description="Close price of that candle, for turning returns into prices.")
    # Metadata, not a feature: it is not in ``values`` and does not enter the feature set version.
    source: DataSource = Field(
        "unknown",
        description='Where the prices came from: "binance" (exchange), "replay" (historical exchange data '
        'replayed), "synthetic" (generated, not market prices), "unknown" (written before the field existed).',
    )

    @field_validator("values")
    @classmethod
    def _finite(cls, values: dict[str, float]) -> dict[str, float]:
        if not values:
            raise ValueError("a feature vector needs at least one value")
        for name, value in values.items():
            if not math.isfinite(value):
                raise ValueError(f"feature {name!r} is not finite: {value!r}")
        return values


# Version 2 of Prediction adds the distribution forecasts; version 1 payloads still parse (no forecasts).
PREDICTION_SCHEMA_VERSION = 2
QUANTILE_LEVELS: tuple[float, ...] = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class DistributionForecast(BaseModel):
    """What is forecast for one horizon besides the point: the return's distribution, its volatility, and the
    probabilities of a rise or a fall beyond the dead band; each field names the forecaster behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    horizon: Annotated[int, Field(ge=1, description="Candles ahead.")]
    target_time_ms: EpochMs
    quantile_levels: list[Probability] = Field(
        default_factory=lambda: list(QUANTILE_LEVELS), description="Levels of the quantiles below.")
    return_quantiles: list[FiniteFloat] = Field(
        description="Quantiles of the log return from as_of to target time at quantile_levels, non-decreasing.")
    price_quantiles: list[PositiveFloat] = Field(description="The prices those returns imply: the price band.")
    p_up: Probability = Field(description="Probability that the log return ends above +dead_band.")
    p_down: Probability = Field(description="Probability that the log return ends below -dead_band.")
    dead_band: NonNegativeFloat
    forecast_volatility: NonNegativeFloat = Field(
        description="Forecast realized volatility over the horizon: root of the summed squared one-candle log returns.")
    forecasters: dict[str, str] = Field(
        description='Who made each field: "distribution", "volatility", "probability" -> '
        '"<model> v<version> <kind>" or "baseline <kind>".')

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        n = len(self.quantile_levels)
        if n == 0 or len(self.return_quantiles) != n or len(self.price_quantiles) != n:
            raise ValueError("quantile_levels, return_quantiles and price_quantiles need the same, non-zero length")
        if any(b < a for a, b in zip(self.return_quantiles, self.return_quantiles[1:], strict=False)):
            raise ValueError("return_quantiles must be non-decreasing (quantiles never cross)")
        if self.p_up + self.p_down > 1 + 1e-9:
            raise ValueError("p_up + p_down exceeds 1")
        return self


class Prediction(Contract):
    """A model's forecast for one symbol, made as of one candle."""

    SUPPORTED_VERSIONS: ClassVar[frozenset[int]] = frozenset({1, PREDICTION_SCHEMA_VERSION})

    schema_version: int = PREDICTION_SCHEMA_VERSION

    symbol: Symbol
    interval: str = Field("1m", examples=["1m"])
    model_name: str = Field(min_length=1, examples=["tickcast-btcusdt-1m-h5"])
    model_version: str = Field(min_length=1, examples=["3"])
    horizon: Annotated[int, Field(ge=1, description="Candles ahead.")]
    as_of_ms: EpochMs
    target_time_ms: EpochMs
    predicted_return: FiniteFloat = Field(description="Forecast log return from as_of to target time.")
    predicted_price: PositiveFloat
    direction: Direction
    emitted_ms: EpochMs
    source: DataSource = Field(
        "unknown",
        description='Where the prices came from: "binance" (exchange), "replay" (historical exchange data '
        'replayed), "synthetic" (generated, not market prices), "unknown" (written before the field existed).',
    )

    forecasts: list[DistributionForecast] = Field(
        default_factory=list,
        description="Distribution, volatility and p_up/p_down per horizon (schema_version 2; empty in version 1).")

    @model_validator(mode="after")
    def _target_after(self) -> Self:
        if self.target_time_ms <= self.as_of_ms:
            raise ValueError("target_time_ms must be after as_of_ms")
        for forecast in self.forecasts:
            if forecast.target_time_ms <= self.as_of_ms:
                raise ValueError(f"forecast of horizon {forecast.horizon}: target_time_ms must be after as_of_ms")
        return self


class DeadLetter(Contract):
    """What a dead-letter topic holds: the raw message and why it was refused."""

    symbol: str | None = None
    source_topic: str
    partition: int | None = None
    offset: int | None = None
    message_key: str | None = None
    payload: str = Field(description="The original value, UTF-8 (invalid bytes replaced).")
    reason: str
    error_type: str
    service: str
    failed_at_ms: int

    @property
    def key(self) -> bytes:
        # Same key as the refused message, so its partition order is kept.
        return (self.message_key or "").encode()


# Where a requested symbol stands, in the order it gets there. "refused" ends the way (``detail`` says why).
SymbolStage = Literal[
    "requested", "validating", "backfilling", "streaming", "warming_features", "serving", "refused"
]
SYMBOL_STAGES: tuple[SymbolStage, ...] = (
    "requested", "validating", "backfilling", "streaming", "warming_features", "serving", "refused"
)


class SymbolStatus(Contract):
    """One symbol's way from ``POST /symbols`` to predictions: the latest record per symbol wins.

    Each stage (gateway, trade producer, feature pipeline, inference) writes the whole record onto the
    compacted ``symbol-status`` topic, keyed by symbol; Redis holds a mirror the gateway reads.
    ``stage_since_ms`` stays put while a stage only reports progress, so "how long there" is honest.
    """

    symbol: Symbol
    stage: SymbolStage
    stage_since_ms: EpochMs = Field(description="When the symbol entered this stage.")
    updated_at_ms: EpochMs = Field(description="When this record was written.")
    requested_at_ms: EpochMs | None = Field(None, description="When POST /symbols asked for it; None for SYMBOLS.")
    progress: Annotated[float, Field(ge=0.0, le=1.0)] | None = Field(
        None, description="Share of the stage done (backfilling), when known.")
    source: DataSource = Field(
        "unknown", description='Where its prices come from: "binance", "replay" or "synthetic" (not market prices).')
    model: str | None = Field(None, description="The model serving it (name:version), or the baseline's label.")
    detail: str = Field("", description="What is happening, in words; for 'refused', why.")
    reported_by: str = Field(min_length=1, examples=["trade_producer"])

    @model_validator(mode="after")
    def _since_not_after_update(self) -> Self:
        if self.stage_since_ms > self.updated_at_ms:
            raise ValueError("stage_since_ms must not be after updated_at_ms")
        return self
