"""``/predictions/{symbol}/at``: what a model would have predicted at a chosen past moment."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from gateway.api.dependencies import SymbolPath
from gateway.api.examples import json_example
from gateway.api.past_prediction_schema import FeaturesAsOf, ModelChoice, PredictionAt, RealisedOutcome, RefusedRequest
from gateway.api.schemas import ErrorMessage
from gateway.backends.past_predictions import PastPrediction, PastPredictionError, PastPredictions
from gateway.api import examples
from tickcast.intervals import interval_ms

router = APIRouter(prefix="/predictions", tags=["predictions"])

_ERRORS = {
    404: {
        "model": ErrorMessage,
        "description": "No data at that time (in the future, before the data, missing history), unknown "
        "symbol (no data anywhere), unknown model or version; the detail says which.",
    },
    422: {
        "model": RefusedRequest,
        "description": "A malformed parameter, or a model that cannot read these features (other interval "
        "or feature set).",
    },
}


@router.get(
    "/{symbol}/at",
    response_model=PredictionAt,
    responses={200: json_example(examples.PREDICTION_AT), **_ERRORS},
    summary="Prediction a model would have made at a chosen moment",
)
async def prediction_at(
    symbol: SymbolPath,
    request: Request,
    time: Annotated[
        datetime,
        Query(
            description="The moment: ISO 8601 (UTC when no offset is given) or epoch milliseconds. The features are "
            "those of the last candle closed by then; nothing after it is read.",
            examples=["2024-01-03T12:00:00Z"],
        ),
    ],
    model: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=r"^[A-Za-z0-9._-]+(:[0-9]+)?$",
            description="VERSION of the served model, NAME (its champion then) or NAME:VERSION. Default: the "
            "champion at that time, from the registry's champion history, else the current champion.",
            examples=["3"],
        ),
    ] = None,
    horizon: Annotated[
        int | None,
        Query(ge=1, le=10_000, description="Candles ahead: picks the registered model for that horizon."),
    ] = None,
) -> PredictionAt:
    """Features as of ``time`` from the offline feature store, or rebuilt by the feature code from
    exchange kline files when the store lacks them; the chosen model predicts; the realised close
    is added once the target candle has closed."""
    time_ms = _epoch_ms(time)
    past: PastPredictions = request.app.state.past_predictions
    try:
        # Parquet reads, kline files and the model: all blocking, none on the event loop.
        answer = await run_in_threadpool(past.predict_at, symbol, time_ms, model, horizon)
    except PastPredictionError as error:
        raise HTTPException(error.status, error.detail) from None
    return _response(symbol, answer)


def _epoch_ms(moment: datetime) -> int:
    """A moment without an offset is UTC (pydantic reads epoch milliseconds as UTC already)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _response(symbol: str, answer: PastPrediction) -> PredictionAt:
    rows, served, prediction = answer.window.rows, answer.chosen.model, answer.prediction
    newest = rows.iloc[-1]
    realised = None
    if answer.realised_close is not None:
        realised = RealisedOutcome(
            target_time_ms=prediction.target_time_ms,
            close=answer.realised_close,
            realised_return=math.log(answer.realised_close / float(newest["close"])),
        )
    return PredictionAt(
        symbol=symbol,
        time_ms=answer.time_ms,
        features=FeaturesAsOf(
            as_of_ms=prediction.as_of_ms,
            known_at_ms=prediction.as_of_ms + interval_ms(prediction.interval),
            feature_set_version=str(newest["feature_set_version"]),
            origin=answer.window.origin,
            lag_window=len(rows),
            close=float(newest["close"]),
            values={name: float(newest[name]) for name in served.feature_names},
        ),
        model=ModelChoice(
            name=served.name,
            version=served.version,
            chosen_because=answer.chosen.choice,
            note=answer.chosen.note,
        ),
        prediction=prediction,
        realised=realised,
    )
