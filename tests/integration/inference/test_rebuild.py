"""Redis loses its data (a FLUSH, a restart without its files): inference rebuilds what the gateway serves
from the topics, and the live scores carry on across restarts instead of starting from zero.

Real broker, real Redis; the flush deletes only this test's keys (its own prefix) on the shared server.
"""

from __future__ import annotations

import math

import pytest
import redis

from inference.service import InferenceService
from integration.inference.harness import running, wait_for
from support.kafka import consume
from tickcast.local_state import BrokerIdentity
from tickcast.topics import Topic
from unit.inference.linear_models import InMemoryChampions, LinearModel, candle, ret_for, vector

pytestmark = pytest.mark.integration

SYMBOLS = ["BTCUSDT", "ETHUSDT"]


def _flush(client: redis.Redis, prefix: str) -> None:
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    assert not list(client.scan_iter(match=f"{prefix}*"))


def _served_state(client: redis.Redis, keys) -> dict[str, object]:
    """Everything the gateway reads, as comparable values."""
    state: dict[str, object] = {"symbols": client.smembers(keys.symbols()),
                                "served": {k: v for k, v in client.hgetall(keys.served_model()).items()
                                           if k != "loaded_at_ms"}}
    for symbol in SYMBOLS:
        state[f"latest:{symbol}"] = client.get(keys.latest_prediction(symbol))
        state[f"history:{symbol}"] = client.zrange(keys.prediction_history(symbol), 0, -1, withscores=True)
        state[f"candles:{symbol}"] = client.zrange(keys.candles(symbol, "1m"), 0, -1, withscores=True)
        state[f"live:{symbol}"] = client.hgetall(keys.live_metrics("m", symbol))
    return state


def _closes(symbol: str) -> dict[int, float]:
    drift = 0.001 if symbol == "BTCUSDT" else -0.002
    return {step: 100.0 * math.exp(drift * step + 0.0005 * (step % 3)) for step in range(40)}


def _send_steps(send, steps: range, candle_steps: range) -> None:
    send(Topic.FEATURES, [vector(s, step, ret_1=ret_for(s, step), close=_closes(s)[step])
                          for step in steps for s in SYMBOLS])
    send(Topic.CANDLES, [candle(s, step, _closes(s)[step]) for step in candle_steps for s in SYMBOLS])


def test_flushed_redis_is_rebuilt_from_the_topics_while_running_and_live_scores_survive_a_restart(
    inference_settings, kafka_settings, topics, send, redis_client, keys, live_channel
):
    registry = InMemoryChampions("m")
    registry.register(LinearModel("m", "1", weight=2.0, bias=0.0003))
    registry.set_champion("1")
    settings = inference_settings.model_copy(update={"rebuild_check_seconds": 0.2})

    def live_count(symbol: str) -> str | None:
        return redis_client.hget(keys.live_metrics("m", symbol), "count")

    with running(InferenceService(settings, registry)):
        _send_steps(send, range(12), range(17))  # 12 predictions, each with its target candle
        consume(kafka_settings, topics(Topic.PREDICTIONS), expected=12 * len(SYMBOLS), timeout=60)
        wait_for(lambda: all(live_count(s) == "12" for s in SYMBOLS), what="twelve predictions scored per symbol")
        before = _served_state(redis_client, keys)
        published_before = len(live_channel)

        _flush(redis_client, keys.prefix)
        wait_for(lambda: _served_state(redis_client, keys) == before, timeout=30,
                 what="the served state rebuilt from the topics after a flush")
        assert len(live_channel) == published_before, "a rebuild announced old predictions as new ones"

    assert len(before["candles:BTCUSDT"]) == 17 and len(before["history:BTCUSDT"]) == 12
    assert before["served"]["name"] == "m" and before["served"]["version"] == "1"

    # A new process knows nothing in memory, and Redis lost everything while it was down.
    _flush(redis_client, keys.prefix)
    with running(InferenceService(settings, registry)):
        wait_for(lambda: _served_state(redis_client, keys) == before, timeout=30,
                 what="the served state rebuilt from the topics at start-up")
        _send_steps(send, range(12, 14), range(17, 19))  # two more predictions; candles reach step 18
        wait_for(lambda: all(live_count(s) == "14" for s in SYMBOLS), what="live scores carrying on, not reset")

    # And with Redis intact, a restart carries the scores on too (they are rebuilt in memory at start).
    with running(InferenceService(settings, registry)):
        _send_steps(send, range(14, 15), range(19, 20))
        wait_for(lambda: all(live_count(s) == "15" for s in SYMBOLS), what="live scores carrying on after a restart")
    predictions = consume(kafka_settings, topics(Topic.PREDICTIONS), expected=15 * len(SYMBOLS), timeout=60)
    assert len(predictions) == 15 * len(SYMBOLS)


def test_a_store_filled_from_another_kafka_cluster_is_discarded_and_rebuilt(
    inference_settings, kafka_settings, topics, send, redis_client, keys
):
    registry = InMemoryChampions("m")
    registry.register(LinearModel("m", "1", weight=2.0))
    registry.set_champion("1")
    _send_steps(send, range(3), range(8))  # on this cluster's topics, before inference runs
    # What another cluster's topics had put in Redis (a broker whose data was wiped since).
    redis_client.set(keys.broker_identity(), BrokerIdentity("another-cluster", {}).to_json())
    redis_client.sadd(keys.symbols(), "OLDUSDT")
    redis_client.set(keys.latest_prediction("OLDUSDT"), "{}")
    redis_client.sadd(keys.rebuilt_partitions(), 0, 1, 2)

    with running(InferenceService(inference_settings, registry)):
        consume(kafka_settings, topics(Topic.PREDICTIONS), expected=3 * len(SYMBOLS), timeout=60)
        wait_for(lambda: redis_client.smembers(keys.symbols()) == set(SYMBOLS), timeout=30,
                 what="the other cluster's symbols gone, this one's there")
        wait_for(lambda: all(redis_client.hget(keys.live_metrics("m", s), "count") == "3" for s in SYMBOLS),
                 what="live scores from this cluster's topics")
    assert redis_client.get(keys.latest_prediction("OLDUSDT")) is None
    saved = BrokerIdentity.from_json(redis_client.get(keys.broker_identity()))
    assert saved.cluster_id != "another-cluster" and topics(Topic.CANDLES) in saved.topics
    assert redis_client.hget(keys.served_model(), "name") == "m"
