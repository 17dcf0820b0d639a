"""The Redis writer against a real Redis: idempotent on replay, capped, expiring, newest wins."""

from __future__ import annotations

import json
import math

import pytest

from inference.model import ServedModel
from inference.redis_store import RedisStore, Retention
from inference.scoring import LiveScore
from integration.inference.harness import wait_for
from tickcast.contracts import Prediction
from unit.inference.linear_models import BASE_MS, MINUTE_MS, LinearModel

pytestmark = pytest.mark.integration


def prediction(step: int, version: str = "1", emitted_offset: int = 0) -> Prediction:
    as_of = BASE_MS + step * MINUTE_MS
    return Prediction(symbol="BTCUSDT", model_name="m", model_version=version, horizon=5, as_of_ms=as_of,
                      target_time_ms=as_of + 5 * MINUTE_MS, predicted_return=0.001 * step,
                      predicted_price=100 * math.exp(0.001 * step), direction="up",
                      emitted_ms=as_of + MINUTE_MS + emitted_offset)


@pytest.fixture
def store(redis_settings):
    writer = RedisStore(redis_settings, Retention(history_cap=3, history_ttl_seconds=120,
                                                  candles_cap=3, candles_ttl_seconds=120))
    yield writer
    writer.close()


def test_replayed_batch_changes_nothing_and_is_not_published_again(store, redis_client, keys, live_channel):
    batch = [prediction(0), prediction(1)]
    assert store.write_batch(batch, [], []) == 2
    # The same inputs served again after a crash: new emission times, same model version.
    assert store.write_batch([prediction(0, emitted_offset=5), prediction(1, emitted_offset=5)], [], []) == 0
    wait_for(lambda: len(live_channel) >= 2, what="the first two publications")
    history = redis_client.zrange(keys.prediction_history("BTCUSDT"), 0, -1)
    assert [Prediction.parse(member) for member in history] == batch
    assert Prediction.parse(redis_client.get(keys.latest_prediction("BTCUSDT"))) == batch[1]
    # A different version for the same candle replaces the entry and is news.
    assert store.write_batch([prediction(1, version="2")], [], []) == 1
    wait_for(lambda: len(live_channel) >= 3, what="the new version's publication")
    assert [m["model_version"] for m in live_channel] == ["1", "1", "2"]
    assert redis_client.zcard(keys.prediction_history("BTCUSDT")) == 2


def test_latest_only_moves_forward_and_history_is_capped(store, redis_client, keys):
    store.write_batch([prediction(step) for step in (4, 5, 6, 7)], [], [])
    store.write_batch([prediction(2)], [], [])  # a late straggler
    assert Prediction.parse(redis_client.get(keys.latest_prediction("BTCUSDT"))).as_of_ms == BASE_MS + 7 * MINUTE_MS
    scores = [int(s) for _, s in redis_client.zrange(keys.prediction_history("BTCUSDT"), 0, -1, withscores=True)]
    assert scores == [BASE_MS + step * MINUTE_MS for step in (5, 6, 7)]
    assert 0 < redis_client.ttl(keys.prediction_history("BTCUSDT")) <= 120
    assert redis_client.smembers(keys.symbols()) == {"BTCUSDT"}


def test_served_model_and_live_scores(store, redis_client, keys):
    store.write_served_model(ServedModel(LinearModel("m", "4", 1.0), 1_700_000_000_000, {"test_mae": 0.0012}))
    served = redis_client.hgetall(keys.served_model())
    assert (served["name"], served["version"], served["feature_set_version"]) == ("m", "4", "fs-a")
    assert served["loaded_at_ms"] == "1700000000000"
    assert json.loads(served["offline_metrics"]) == {"test_mae": 0.0012}

    score = LiveScore("m", "BTCUSDT", "4", mae=0.002, persistence_mae=0.004, skill=0.5, hit_rate=0.6, count=10,
                      last_target_time_ms=BASE_MS)
    store.write_batch([], [], [score])
    live = redis_client.hgetall(keys.live_metrics("m", "BTCUSDT"))
    assert (float(live["mae"]), float(live["skill"]), float(live["hit_rate"]), live["count"]) == (
        0.002, 0.5, 0.6, "10")


def test_the_source_of_the_prices_is_stored_and_published_with_predictions_and_candles(
    store, redis_client, keys, live_channel
):
    from tickcast.contracts import Candle

    made_up = prediction(0).model_copy(update={"source": "synthetic"})
    candle = Candle(symbol="BTCUSDT", interval="1m", open_time_ms=BASE_MS, close_time_ms=BASE_MS + MINUTE_MS - 1,
                    open=100.0, high=101.0, low=99.0, close=100.5, volume=2.0, quote_volume=201.0, trade_count=3,
                    taker_buy_base_volume=1.0, taker_buy_quote_volume=100.5, vwap=100.5, source="synthetic")
    assert store.write_batch([made_up], [candle], []) == 1
    wait_for(lambda: len(live_channel) >= 1, what="the publication")
    assert live_channel[0]["source"] == "synthetic"
    assert json.loads(redis_client.get(keys.latest_prediction("BTCUSDT")))["source"] == "synthetic"
    (member,) = redis_client.zrange(keys.prediction_history("BTCUSDT"), 0, -1)
    assert json.loads(member)["source"] == "synthetic"
    (stored_candle,) = redis_client.zrange(keys.candles("BTCUSDT", "1m"), 0, -1)
    assert Candle.parse(stored_candle) == candle
