"""``/models``: the champion, the versions predicting now, and their offline and live metrics."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api import examples, model_info
from gateway.api.dependencies import STORE_UNAVAILABLE, Store
from gateway.api.examples import json_example
from gateway.backends.documents import valid_documents
from gateway.api.schemas import ModelsOverview
from tickcast.contracts import Prediction

router = APIRouter(tags=["models"])


@router.get(
    "/models",
    responses={200: json_example(examples.MODELS), **STORE_UNAVAILABLE},
    summary="Served model and its metrics",
)
async def models(store: Store) -> ModelsOverview:
    """The model inference serves (the champion) with its offline metrics, the model versions
    behind each symbol's newest prediction, the live metrics of every model on every symbol, and the
    live scores (coverage, pinball, QLIKE, Brier) of the forecasters behind the distribution forecasts."""
    champion = model_info.served_model(await store.served_model())
    symbols = await store.symbols()
    latest = [
        Prediction.parse(document)
        for document in valid_documents(Prediction, await store.latest_predictions(symbols), "*")
    ]
    live = []
    for key, fields in await store.live_metrics():
        if (parts := model_info.split_live_metrics_key(key, store.keys.prefix)) is not None:
            live.append(model_info.live_metrics(*parts, fields))
    forecast_scores = model_info.forecast_live_scores(await store.forecast_live_scores())
    return ModelsOverview(champion=champion, versions=model_info.versions_in_use(latest), live_metrics=live,
                          forecast_live_scores=forecast_scores)
