"""What route handlers receive: the objects the application built at startup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request

from gateway.live.fanout import SYMBOL_PATTERN
from gateway.live.latest_cache import LatestPredictions
from gateway.api.schemas import ErrorMessage
from gateway.backends.store import PredictionStore


# Async on purpose: FastAPI runs a plain-def dependency in its thread pool, which costs
# more than the rest of a cached read.
async def _store(request: Request) -> PredictionStore:
    return request.app.state.store


@dataclass(frozen=True)
class LatestReads:
    """What GET .../latest needs, in one place on the application's state."""

    cache: LatestPredictions
    store: PredictionStore


Store = Annotated[PredictionStore, Depends(_store)]

SymbolPath = Annotated[
    str,
    Path(pattern=SYMBOL_PATTERN, description="Exchange symbol, upper case.", examples=["BTCUSDT"]),
]

# Documented answers shared by the routes that read Redis.
STORE_UNAVAILABLE = {503: {"model": ErrorMessage, "description": "Redis did not answer; retry later."}}
UNKNOWN_SYMBOL = {404: {"model": ErrorMessage, "description": "The store has no data for this symbol."}}
