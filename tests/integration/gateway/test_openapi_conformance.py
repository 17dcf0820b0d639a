"""Schemathesis against the gateway's own OpenAPI document: no 5xx, every answer matches its schema.

The gateway runs for real (uvicorn, real Redis with data in it, the real broker for
POST /symbols), so the generated requests meet both known and unknown symbols. The
document is taken from the application object (so the tests can be generated at
collection time) and checked to be the one the running gateway serves.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from gateway.app import create_app
from gateway.auth import API_KEY_HEADER
from gateway.config import GatewaySettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


API_KEY = "conformance-test-key"
SPEC = create_app(GatewaySettings()).openapi()
schema = schemathesis.openapi.from_dict(SPEC)


@pytest.fixture
def filled_gateway(redis_settings, kafka_settings, start_gateway, store_writer) -> str:
    """A running gateway with two symbols of data; returns its base URL."""
    store_writer.set_served_model("tickcast-1m-h5", "3", {"mae": 0.0004, "skill": 0.05}, horizon=5)
    for symbol in ("BTCUSDT", "ETHUSDT"):
        store_writer.add_predictions(*(store_writer.prediction(symbol, minute=m) for m in range(20)))
        store_writer.add_candles(*(store_writer.candle(symbol, index=i) for i in range(30)))
        store_writer.set_live_metrics(
            "tickcast-1m-h5",
            symbol,
            model_version="3",
            mae=0.0005,
            persistence_mae=0.0006,
            skill=0.16,
            hit_rate=0.55,
            count=20,
        )
    gateway = start_gateway(GatewaySettings(redis=redis_settings, kafka=kafka_settings, api_keys=API_KEY))
    assert httpx.get(f"{gateway.url}/openapi.json").json() == SPEC
    return gateway.url


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_documented_schema(case, filled_gateway: str) -> None:
    # With the key, as a client would; schemathesis also tries without it and expects the 401.
    case.call_and_validate(base_url=filled_gateway, headers={API_KEY_HEADER: API_KEY})
