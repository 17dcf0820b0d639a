"""Schemathesis against the gateway's own OpenAPI document: no 5xx, every answer matches its schema,
invalid input is refused, and the API key is required exactly when the document says so.

Two configurations, each with its own document: open (no ``GATEWAY_API_KEYS``: the document
declares no key, and none is needed) and keyed (the key is declared, and a request without it or
with a wrong one is a 401). The gateway runs for real (uvicorn, real Redis with data in it, the
real broker for POST /symbols, where a consumer in the trade producer's listener group stands for
the live feed), so the generated requests meet known and unknown symbols. The documents are taken
from the application objects (so the tests can be generated at collection time) and checked to be
the ones the running gateways serve.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from gateway.app import create_app
from gateway.api.auth import API_KEY_HEADER
from gateway.config import GatewaySettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


API_KEY = "conformance-test-key"
OPEN_SPEC = create_app(GatewaySettings(api_keys="")).openapi()
KEYED_SPEC = create_app(GatewaySettings(api_keys=API_KEY)).openapi()
open_schema = schemathesis.openapi.from_dict(OPEN_SPEC)
keyed_schema = schemathesis.openapi.from_dict(KEYED_SPEC)


def _fill(store_writer) -> None:
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


@pytest.fixture
def open_gateway(redis_settings, kafka_settings, start_gateway, store_writer, live_feed_listening) -> str:
    _fill(store_writer)
    gateway = start_gateway(GatewaySettings(redis=redis_settings, kafka=kafka_settings, api_keys=""))
    assert httpx.get(f"{gateway.url}/openapi.json").json() == OPEN_SPEC
    return gateway.url


@pytest.fixture
def keyed_gateway(redis_settings, kafka_settings, start_gateway, store_writer, live_feed_listening) -> str:
    _fill(store_writer)
    gateway = start_gateway(GatewaySettings(redis=redis_settings, kafka=kafka_settings, api_keys=API_KEY))
    assert httpx.get(f"{gateway.url}/openapi.json").json() == KEYED_SPEC
    return gateway.url


def test_the_documents_declare_the_key_only_when_one_is_configured() -> None:
    post_open = OPEN_SPEC["paths"]["/symbols"]["post"]
    post_keyed = KEYED_SPEC["paths"]["/symbols"]["post"]
    assert "security" not in post_open and "401" not in post_open["responses"]
    assert post_keyed["security"] == [{"APIKeyHeader": []}] and "401" in post_keyed["responses"]
    assert {"400", "409", "422", "503"} <= set(post_open["responses"])
    interval = next(p for p in OPEN_SPEC["paths"]["/candles/{symbol}"]["get"]["parameters"] if p["name"] == "interval")
    # pydantic writes a single allowed value as a const, several as an enum
    assert interval["schema"].get("enum", [interval["schema"].get("const")]) == ["1m"]


@open_schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_open_gateway_every_answer_matches_the_document(case, open_gateway: str) -> None:
    case.call_and_validate(base_url=open_gateway)


@keyed_schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_keyed_gateway_every_answer_matches_the_document(case, keyed_gateway: str) -> None:
    # With the key, as a client would; schemathesis also tries without it and with a wrong one, expecting a 401.
    case.call_and_validate(base_url=keyed_gateway, headers={API_KEY_HEADER: API_KEY})


def test_refusals_the_document_promises(open_gateway: str) -> None:
    with httpx.Client(base_url=open_gateway, timeout=30.0) as http:
        not_json = http.post("/symbols", content=b"{symbol", headers={"content-type": "application/json"})
        form = http.post("/symbols", content=b"symbol=SOLUSDT",
                         headers={"content-type": "application/x-www-form-urlencoded"})
        interval = http.get("/candles/BTCUSDT", params={"interval": "7m"})
        accepted = http.post("/symbols", json={"symbol": "SOLUSDT"})
    assert not_json.status_code == 400 and not_json.json()["detail"].startswith("the body is not valid JSON")
    assert form.status_code == 400 and "Content-Type: application/json" in form.json()["detail"]
    assert interval.status_code == 422 and "'1m'" in interval.json()["detail"][0]["msg"]
    assert accepted.status_code == 202
