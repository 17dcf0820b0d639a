"""What is in Redis comes out of the HTTP API, with 404, 422 and 503 where they belong."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest

from gateway.config import GatewaySettings
from tickcast.contracts import Candle, Prediction

pytestmark = pytest.mark.integration


def test_the_latest_prediction_is_the_one_in_redis(http: httpx.Client, store_writer) -> None:
    older = store_writer.prediction(minute=0, price=42_000.0)
    newer = store_writer.prediction(minute=1, price=42_100.5)
    store_writer.add_predictions(older, newer)

    response = http.get("/predictions/BTCUSDT/latest")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert Prediction.parse(response.content) == newer


def test_an_unknown_symbol_is_a_404_that_says_so(http: httpx.Client, store_writer) -> None:
    store_writer.add_predictions(store_writer.prediction("BTCUSDT"))

    for path in ("/predictions/DOGEUSDT/latest", "/predictions/DOGEUSDT", "/candles/DOGEUSDT"):
        response = http.get(path)
        assert response.status_code == 404, path
        assert "unknown symbol 'DOGEUSDT'" in response.json()["detail"]


def test_a_known_symbol_without_predictions_yet_is_a_404_that_says_so(
    http: httpx.Client, store_writer
) -> None:
    store_writer.add_candles(store_writer.candle("ETHUSDT"))

    response = http.get("/predictions/ETHUSDT/latest")

    assert response.status_code == 404
    assert response.json()["detail"] == "no prediction for symbol 'ETHUSDT' yet"
    assert http.get("/predictions/ETHUSDT").json() == []


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/predictions/btcusdt/latest", "symbol"),
        ("/predictions/BTCUSDT?limit=0", "limit"),
        ("/predictions/BTCUSDT?limit=1001", "limit"),
        ("/predictions/BTCUSDT?since=yesterday", "since"),
        ("/predictions/BTCUSDT?since=12", "since"),
        ("/candles/BTCUSDT?interval=7x", "interval"),
        ("/candles/BTCUSDT?limit=-1", "limit"),
    ],
)
def test_bad_parameters_are_a_422_naming_the_field(http: httpx.Client, path: str, field: str) -> None:
    response = http.get(path)
    assert response.status_code == 422
    assert [error["loc"][-1] for error in response.json()["detail"]] == [field]


def test_history_pages_forward_from_since_and_defaults_to_the_newest(
    http: httpx.Client, store_writer
) -> None:
    predictions = [store_writer.prediction(minute=m, price=42_000.0 + m) for m in range(10)]
    store_writer.add_predictions(*predictions)

    newest = http.get("/predictions/BTCUSDT", params={"limit": 3}).json()
    assert [Prediction.parse(p) for p in newest] == predictions[7:]

    first_page = http.get(
        "/predictions/BTCUSDT", params={"since": predictions[2].as_of_ms, "limit": 4}
    ).json()
    assert [Prediction.parse(p) for p in first_page] == predictions[2:6]
    next_since = first_page[-1]["as_of_ms"] + 1
    second_page = http.get("/predictions/BTCUSDT", params={"since": next_since, "limit": 4}).json()
    assert [Prediction.parse(p) for p in second_page] == predictions[6:10]


def test_candles_come_per_interval_newest_last(
    redis_settings, start_gateway, http_client, store_writer
) -> None:
    minute_candles = [store_writer.candle(index=i, close=100.0 + i) for i in range(5)]
    five_minute = store_writer.candle(index=0, interval="5m", close=99.0)
    store_writer.add_candles(*minute_candles, five_minute)

    # The intervals the candle builder makes (CANDLE_INTERVALS), the first being the default.
    with http_client(start_gateway(GatewaySettings(candle_intervals="1m,5m,1h"))) as http:
        assert [
            Candle.parse(c) for c in http.get("/candles/BTCUSDT", params={"limit": 2}).json()
        ] == minute_candles[3:]
        assert [Candle.parse(c) for c in http.get("/candles/BTCUSDT", params={"interval": "5m"}).json()] == [
            five_minute
        ]
        assert http.get("/candles/BTCUSDT", params={"interval": "1h"}).json() == []
        # One it does not make is refused, naming those it makes.
        refused = http.get("/candles/BTCUSDT", params={"interval": "7m"})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["msg"] == "Input should be '1m', '5m' or '1h'"


def test_symbols_lists_every_symbol_in_the_store(http: httpx.Client, store_writer) -> None:
    assert http.get("/symbols").json() == {"symbols": []}
    store_writer.add_predictions(store_writer.prediction("ETHUSDT"))
    store_writer.add_candles(store_writer.candle("BTCUSDT"))

    assert http.get("/symbols").json() == {"symbols": ["BTCUSDT", "ETHUSDT"]}


def test_models_shows_the_champion_versions_and_live_metrics(http: httpx.Client, store_writer) -> None:
    assert http.get("/models").json() == {
        "champion": None, "versions": [], "live_metrics": [], "forecast_live_scores": [],
        "leaderboard": {"updated_ms": None, "window": None, "entries": [], "live_promotion": None, "decisions": []},
        "models": ["champion", "persistence"]}

    store_writer.set_served_model("tickcast-1m-h5", "3", {"mae": 0.0004, "skill": 0.05}, horizon=5)
    store_writer.add_predictions(
        store_writer.prediction("BTCUSDT", minute=2),
        store_writer.prediction("ETHUSDT", minute=1, model_version="2"),
    )
    store_writer.set_live_metrics(
        "tickcast-1m-h5",
        "BTCUSDT",
        model_version="3",
        mae=0.0005,
        persistence_mae=0.0006,
        skill="",
        hit_rate=0.6,
        count=42,
    )

    overview = http.get("/models").json()

    champion = overview["champion"]
    assert (champion["name"], champion["version"], champion["feature_set_version"]) == (
        "tickcast-1m-h5",
        "3",
        "fs-test",
    )
    assert champion["offline_metrics"] == {"mae": 0.0004, "skill": 0.05}
    assert champion["attributes"] == {"horizon": "5"}
    assert [(v["model_version"], v["symbols"]) for v in overview["versions"]] == [
        ("3", ["BTCUSDT"]),
        ("2", ["ETHUSDT"]),
    ]
    [live] = overview["live_metrics"]
    assert live == {
        "model_name": "tickcast-1m-h5",
        "model_version": "3",
        "symbol": "BTCUSDT",
        "mae": 0.0005,
        "persistence_mae": 0.0006,
        "skill": None,
        "hit_rate": 0.6,
        "count": 42,
        "additional": {},
    }


def test_models_returns_the_live_scores_of_the_distribution_forecasters(http: httpx.Client, store_writer) -> None:
    store_writer.set_forecast_live_score("BTCUSDT", 5, "distribution", "baseline student_t",
                                         {"coverage_80": 0.79, "coverage_90": 0.91, "pinball": 0.0003}, 120, 1_000)
    store_writer.set_forecast_live_score("BTCUSDT", 1, "volatility", "tickcast-forecast v2 har",
                                         {"qlike": 0.21}, 118, 2_000)
    store_writer.set_forecast_live_score("ETHUSDT", 1, "probability", "baseline trailing_frequency",
                                         {"brier": 0.24, "unknown": 3.0}, 7, 3_000)
    store_writer.client.hset(store_writer.keys.forecast_live_scores(), "junk", "{not json")

    scores = http.get("/models").json()["forecast_live_scores"]

    assert [(s["symbol"], s["horizon"], s["target"]) for s in scores] == [
        ("BTCUSDT", 1, "volatility"), ("BTCUSDT", 5, "distribution"), ("ETHUSDT", 1, "probability")]
    assert scores[1] == {"symbol": "BTCUSDT", "horizon": 5, "target": "distribution",
                         "forecaster": "baseline student_t", "coverage_80": 0.79, "coverage_90": 0.91,
                         "pinball": 0.0003, "qlike": None, "brier": None, "count": 120, "last_target_time_ms": 1_000}
    assert (scores[0]["qlike"], scores[0]["forecaster"]) == (0.21, "tickcast-forecast v2 har")
    assert (scores[2]["brier"], scores[2]["count"]) == (0.24, 7)


def test_a_malformed_document_in_redis_is_left_out_not_served(http: httpx.Client, store_writer) -> None:
    good = store_writer.prediction(minute=1)
    store_writer.add_predictions(good)
    store_writer.client.zadd(
        store_writer.keys.prediction_history("BTCUSDT"), {b'{"symbol": "BTCUSDT"}': good.as_of_ms - 1}
    )

    assert [Prediction.parse(p) for p in http.get("/predictions/BTCUSDT").json()] == [good]


def test_health_is_ready_when_redis_answers_and_metrics_count_requests(
    kafka_settings, redis_settings, start_gateway, http_client, wait_until
) -> None:
    with http_client(start_gateway(GatewaySettings())) as http:
        # Ready once the (empty) trades topic has been read: nothing is stale, nothing unknown.
        wait_until(lambda: http.get("/health").json()["status"] == "ready", 20)
        health = http.get("/health")
        assert health.status_code == 200
        assert health.json()["problems"] == [] and health.json()["freshness"] == []
        _check_metrics(http)


def _check_metrics(http: httpx.Client) -> None:
    http.get("/predictions/NOSUCH1/latest")
    exposition = http.get("/metrics")
    assert exposition.status_code == 200
    assert exposition.headers["content-type"].startswith("text/plain")
    assert (
        'gateway_http_requests_total{method="GET",route="/predictions/{symbol}/latest",status="404"}'
        in exposition.text
    )


def test_redis_down_is_a_503_with_a_message_on_every_read_endpoint(
    redis_settings, start_gateway: Callable[[GatewaySettings], object], unused_port: int
) -> None:
    nobody_listens = redis_settings.model_copy(update={"url": f"redis://127.0.0.1:{unused_port}/0"})
    gateway = start_gateway(GatewaySettings(redis=nobody_listens))

    with httpx.Client(base_url=gateway.url, timeout=10.0) as client:
        for path in (
            "/health",
            "/symbols",
            "/predictions/BTCUSDT/latest",
            "/predictions/BTCUSDT",
            "/candles/BTCUSDT",
            "/models",
        ):
            response = client.get(path)
            assert response.status_code == 503, path
            assert response.json()["detail"].startswith("Redis did not answer"), path
        # The API itself is still up: documentation and metrics do not need Redis.
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/metrics").status_code == 200


def test_a_redis_that_accepts_but_never_answers_is_a_503_not_a_hang(redis_settings, start_gateway) -> None:
    # A listening socket nobody serves: connections succeed, replies never come.
    with socket.create_server(("127.0.0.1", 0), backlog=64) as silent:
        port = silent.getsockname()[1]
        silent_redis = redis_settings.model_copy(update={"url": f"redis://127.0.0.1:{port}/0"})
        gateway = start_gateway(GatewaySettings(redis=silent_redis, redis_timeout_s=0.3))

        with httpx.Client(base_url=gateway.url, timeout=10.0) as client:
            for path in ("/health", "/predictions/BTCUSDT/latest", "/candles/BTCUSDT"):
                response = client.get(path)
                assert response.status_code == 503, path
                assert "Redis did not answer" in response.json()["detail"], path


def test_a_wrong_method_is_a_405_listing_every_method_of_the_path(http: httpx.Client) -> None:
    response = http.request("DELETE", "/symbols")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert http.request("PUT", "/predictions/BTCUSDT/latest").headers["allow"] == "GET"


@pytest.mark.parametrize("source", ["binance", "replay", "synthetic"])
def test_candles_and_predictions_say_where_their_prices_come_from(
    http: httpx.Client, store_writer, source: str
) -> None:
    store_writer.add_candles(store_writer.candle("SOLUSDT", index=0, close=100.0, source=source))
    store_writer.add_predictions(store_writer.prediction("SOLUSDT", price=101.0, source=source))

    assert [candle["source"] for candle in http.get("/candles/SOLUSDT").json()] == [source]
    assert [p["source"] for p in http.get("/predictions/SOLUSDT").json()] == [source]
    assert http.get("/predictions/SOLUSDT/latest").json()["source"] == source


def test_documents_stored_before_sources_existed_are_served_as_unknown(
    http: httpx.Client, store_writer
) -> None:
    import json

    candle = json.loads(store_writer.candle("XRPUSDT", index=0, close=50.0).model_dump_json())
    prediction = json.loads(store_writer.prediction("XRPUSDT", price=51.0).model_dump_json())
    del candle["source"], prediction["source"]
    keys = store_writer.keys
    store_writer.client.zadd(keys.candles("XRPUSDT", "1m"), {json.dumps(candle): candle["open_time_ms"]})
    store_writer.client.zadd(keys.prediction_history("XRPUSDT"), {json.dumps(prediction): prediction["as_of_ms"]})
    store_writer.client.set(keys.latest_prediction("XRPUSDT"), json.dumps(prediction))
    store_writer.client.sadd(keys.symbols(), "XRPUSDT")

    assert [c["source"] for c in http.get("/candles/XRPUSDT").json()] == ["unknown"]
    assert [p["source"] for p in http.get("/predictions/XRPUSDT").json()] == ["unknown"]
    assert http.get("/predictions/XRPUSDT/latest").json()["source"] == "unknown"


def test_the_openapi_document_describes_the_source_of_candles_and_predictions(http: httpx.Client) -> None:
    schemas = http.get("/openapi.json").json()["components"]["schemas"]
    for model in ("Candle", "Prediction"):
        source = schemas[model]["properties"]["source"]
        assert set(source["enum"]) == {"binance", "replay", "synthetic", "unknown"}, model
        assert "not market prices" in source["description"], model
