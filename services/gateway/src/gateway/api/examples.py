"""Response examples for the OpenAPI document, built from the contracts so that they are valid."""

from __future__ import annotations

from typing import Any

from gateway.api.schemas import LiveMetrics, ModelsOverview, ModelVersion, ServedModel
from tickcast.contracts import Candle, DistributionForecast, Prediction

_AS_OF_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z

PREDICTION = Prediction(
    symbol="BTCUSDT",
    interval="1m",
    model_name="tickcast-btcusdt-1m-h5",
    model_version="3",
    horizon=5,
    as_of_ms=_AS_OF_MS,
    target_time_ms=_AS_OF_MS + 5 * 60_000,
    predicted_return=0.00042,
    predicted_price=94_251.37,
    direction="up",
    emitted_ms=_AS_OF_MS + 60_180,
    source="binance",
    forecasts=[
        DistributionForecast(
            horizon=5,
            target_time_ms=_AS_OF_MS + 5 * 60_000,
            return_quantiles=[-0.0021, -0.0016, -0.0008, 0.0, 0.0008, 0.0016, 0.0021],
            price_quantiles=[94_013.1, 94_060.1, 94_135.5, 94_211.8, 94_287.2, 94_362.7, 94_410.0],
            p_up=0.31,
            p_down=0.3,
            dead_band=0.0005,
            forecast_volatility=0.00125,
            forecasters={"distribution": "tickcast-forecast-btcusdt-1m v2 standardized_quantiles",
                         "volatility": "tickcast-forecast-btcusdt-1m v2 har_features",
                         "probability": "baseline trailing_frequency"},
        ),
    ],
)

CANDLE = Candle(
    symbol="BTCUSDT",
    interval="1m",
    open_time_ms=_AS_OF_MS,
    close_time_ms=_AS_OF_MS + 59_999,
    open=94_190.0,
    high=94_260.5,
    low=94_171.2,
    close=94_211.8,
    volume=12.85,
    quote_volume=1_210_640.3,
    trade_count=1_944,
    taker_buy_base_volume=6.9,
    taker_buy_quote_volume=650_061.4,
    vwap=94_213.3,
    first_trade_id=5_120_000_001,
    last_trade_id=5_120_001_944,
    source="binance",
)

MODELS = ModelsOverview(
    champion=ServedModel(
        name="tickcast-btcusdt-1m-h5",
        version="3",
        feature_set_version="fs-3f2a9c1b",
        loaded_at_ms=_AS_OF_MS,
        offline_metrics={"mae": 0.00041, "persistence_mae": 0.00044, "skill": 0.068},
        attributes={"interval": "1m", "horizon": "5"},
    ),
    versions=[
        ModelVersion(
            model_name="tickcast-btcusdt-1m-h5",
            model_version="3",
            symbols=["BTCUSDT", "ETHUSDT"],
            last_prediction_ms=_AS_OF_MS,
        )
    ],
    live_metrics=[
        LiveMetrics(
            model_name="tickcast-btcusdt-1m-h5",
            model_version="3",
            symbol="BTCUSDT",
            mae=0.00043,
            persistence_mae=0.00046,
            skill=0.065,
            hit_rate=0.54,
            count=1_440,
        )
    ],
)


def json_example(value: Any, description: str = "Successful Response") -> dict[str, Any]:
    """A 200 response entry for ``responses=`` with one example body."""
    if isinstance(value, list):
        body = [item.model_dump(mode="json") for item in value]
    else:
        body = value.model_dump(mode="json")
    return {"description": description, "content": {"application/json": {"example": body}}}
