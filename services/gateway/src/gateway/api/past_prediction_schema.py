"""The answer of ``GET /predictions/{symbol}/at``: a prediction at a past moment and what it was made from."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from tickcast.contracts import Prediction


class FeaturesAsOf(BaseModel):
    as_of_ms: int = Field(
        description="Open time of the newest candle closed at the asked time: its features are used."
    )
    known_at_ms: int = Field(description="When that candle closed: nothing after it entered the features.")
    feature_set_version: str = Field(examples=["fs-3f2a9c1b"])
    origin: Literal["offline_store", "kline_files"] = Field(
        description="offline_store: read from the feature store; kline_files: rebuilt by the feature code from "
        "exchange kline files (the 24 completed hours and the warm-up before the moment)."
    )
    lag_window: int = Field(ge=1, description="Consecutive vectors the model reads; `values` is the newest.")
    close: float = Field(description="Close of the as-of candle: the price the return is applied to.")
    values: dict[str, float] = Field(description="The feature vector as of `as_of_ms`, in the model's order.")


class ModelChoice(BaseModel):
    name: str = Field(examples=["tickcast-btcusdt-1m-h5"])
    version: str = Field(examples=["3"])
    chosen_because: Literal["requested", "champion_at_time", "current_champion"] = Field(
        description="requested: `model=` named it; champion_at_time: the registry's champion history says it "
        "was champion then; current_champion: that history does not reach back so far, so today's champion."
    )
    note: str = Field(examples=["champion since 2026-01-01T00:00:00Z"])


class RealisedOutcome(BaseModel):
    target_time_ms: int
    close: float = Field(description="The close the prediction was about, as it happened.")
    realised_return: float = Field(description="ln(close / as-of close): compare with `predicted_return`.")


class PredictionAt(BaseModel):
    symbol: str = Field(examples=["BTCUSDT"])
    time_ms: int = Field(description="The moment asked for, epoch milliseconds.")
    features: FeaturesAsOf
    model: ModelChoice
    prediction: Prediction = Field(
        description="As inference would have published it then; `source` labels the "
        "prices (`binance` for kline files, `unknown` for the offline store, which "
        "does not record it)."
    )
    realised: RealisedOutcome | None = Field(
        None, description="Present once the target candle has closed and its close is in the data."
    )


class RefusedRequest(BaseModel):
    """A 422: the reason as text, or FastAPI's list of malformed parameters."""

    detail: str | list[dict[str, Any]] = Field(examples=["time 2999-01-01T00:00:00Z is in the future"])
