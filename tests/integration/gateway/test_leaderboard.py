"""The live leaderboard and ``model=`` end to end through Redis: written by inference's own store, read by the API.

Inference's ``RedisStore`` and leaderboard document are used as the writer, so writer and reader are
checked against each other, not against a copy of the layout.
"""

from __future__ import annotations

import json
import math

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from inference.leaderboard import Leaderboard, leaderboard_document
from inference.live_promotion import decide
from inference.redis_store import RedisStore, Retention
from tickcast.contracts import Prediction
from tickcast.settings import RedisSettings

pytestmark = pytest.mark.integration

RECEIVE_TIMEOUT_S = 10
NAME = "tickcast-1m-h5"


@pytest.fixture
def inference_store(redis_settings: RedisSettings):
    store = RedisStore(redis_settings, Retention(100, 3600, 100, 3600))
    yield store
    store.close()


def serve(store_writer, inference_store: RedisStore, minutes: int = 6) -> tuple[list[Prediction], list[Prediction]]:
    """Champion v3 and challenger v4 predict BTCUSDT for ``minutes``; their candles come; the board is written."""
    champion = [store_writer.prediction(minute=m, predicted_return=0.001 * m, model_name=NAME) for m in range(minutes)]
    challenger = [p.model_copy(update={"model_version": "4", "predicted_return": -0.001}) for p in champion]
    board = Leaderboard(window=100, max_pending_per_symbol=100, dead_band=0.0005)
    for prediction in champion + challenger:
        board.on_prediction(prediction, prediction.predicted_price)
    candles = [store_writer.candle(index=m + 5, close=42_000.0 * (1 + 0.0005 * m)) for m in range(minutes)]
    for candle in candles:
        board.on_candle(candle.symbol, candle.open_time_ms, candle.close)
    document = leaderboard_document(board.standings((NAME, "3"), [(NAME, "4")]), (NAME, "3"), [(NAME, "4")], 100,
                                    {"enabled": True, "min_count": 500, "alpha": 0.05}, champion[-1].emitted_ms)
    inference_store.write_batch(champion, candles, [], shadow=challenger, leaderboard=document)
    return champion, challenger


def test_models_returns_the_leaderboard_and_the_models_to_follow(http: httpx.Client, store_writer,
                                                                  inference_store) -> None:
    serve(store_writer, inference_store)
    losses = [0.001, 0.002, 0.0015, 0.001, 0.002, 0.003] * 20
    decision = decide(NAME, "3", "4", losses, [x * 0.5 for x in losses], horizon=5, min_count=100, alpha=0.05,
                      now_ms=1_767_225_600_000)
    inference_store.record_promotion_decision(json.dumps(decision.__dict__))

    body = http.get("/models").json()
    board = body["leaderboard"]
    entries = {entry["label"]: entry for entry in board["entries"]}
    assert set(entries) == {f"{NAME} v3", f"{NAME} v4", "persistence"}
    assert {entry["count"] for entry in entries.values()} == {6}
    assert entries[f"{NAME} v3"]["model"] == "champion" and entries[f"{NAME} v4"]["model"] == "4"
    assert entries["persistence"]["model"] == "persistence" and entries["persistence"]["skill"] == 0.0
    for entry in entries.values():
        assert entry["hit_rate_low"] <= entry["hit_rate"] <= entry["hit_rate_high"]
    assert board["live_promotion"] == {"enabled": True, "min_count": 500, "alpha": 0.05}
    (shown,) = board["decisions"]
    assert shown["promote"] is True and shown["challenger_version"] == "4"
    assert body["models"] == ["champion", "4", "persistence"]


def test_predictions_follow_the_model_asked_for(http: httpx.Client, store_writer, inference_store) -> None:
    champion, challenger = serve(store_writer, inference_store)
    assert Prediction.parse(http.get("/predictions/BTCUSDT/latest").content) == champion[-1]
    assert Prediction.parse(http.get("/predictions/BTCUSDT/latest?model=champion").content) == champion[-1]
    assert Prediction.parse(http.get("/predictions/BTCUSDT/latest?model=3").content) == champion[-1]
    assert Prediction.parse(http.get("/predictions/BTCUSDT/latest?model=4").content) == challenger[-1]
    baseline = Prediction.parse(http.get("/predictions/BTCUSDT/latest?model=persistence").content)
    assert (baseline.model_name, baseline.predicted_return, baseline.direction) == ("persistence", 0.0, "flat")
    assert baseline.predicted_price == pytest.approx(champion[-1].predicted_price / math.exp(0.005), rel=1e-9)
    history = [Prediction.parse(json.dumps(p)) for p in http.get("/predictions/BTCUSDT?model=4").json()]
    assert history == challenger

    unknown = http.get("/predictions/BTCUSDT/latest?model=7")
    assert unknown.status_code == 404 and "served now are champion, 4, persistence" in unknown.json()["detail"]
    assert http.get("/predictions/BTCUSDT?model=7").status_code == 404
    assert http.get("/predictions/BTCUSDT/latest?model=no%20such").status_code == 422
    missing = http.get("/predictions/ETHUSDT/latest?model=4")
    assert missing.status_code == 404 and "unknown symbol" in missing.json()["detail"]


def test_the_feed_follows_the_model_asked_for(gateway, store_writer, inference_store) -> None:
    serve(store_writer, inference_store, minutes=1)
    champion = store_writer.prediction(minute=9, model_name=NAME)
    challenger = champion.model_copy(update={"model_version": "4", "predicted_return": -0.002})
    with (connect(f"{gateway.ws_url}/ws/predictions?symbols=BTCUSDT&model=4") as shadow,
          connect(f"{gateway.ws_url}/ws/predictions?symbols=BTCUSDT&model=persistence") as baseline,
          connect(f"{gateway.ws_url}/ws/predictions?symbols=BTCUSDT") as default):
        store_writer.wait_for_subscribers(1)
        inference_store.write_batch([champion], [], [], shadow=[challenger])
        assert Prediction.parse(default.recv(timeout=RECEIVE_TIMEOUT_S)) == champion
        assert Prediction.parse(shadow.recv(timeout=RECEIVE_TIMEOUT_S)) == challenger
        followed = Prediction.parse(baseline.recv(timeout=RECEIVE_TIMEOUT_S))
        assert (followed.model_name, followed.as_of_ms, followed.predicted_return) == ("persistence",
                                                                                      champion.as_of_ms, 0.0)
    with (connect(f"{gateway.ws_url}/ws/predictions?model=7") as client, pytest.raises(ConnectionClosed) as closed):
        client.recv(timeout=RECEIVE_TIMEOUT_S)
    assert closed.value.rcvd.code == 1008 and "unknown model" in closed.value.rcvd.reason
