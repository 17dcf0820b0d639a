"""The live leaderboard and live promotion on the real broker and Redis.

The challenger v2 is truly better: its feature is the return that comes true (a learnable process
for a model that weighs it by 1), the champion v1 weighs it by 0.2. Both are scored with
persistence on the same matured predictions; a restart rebuilds the same windows from the topics.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from inference.service import InferenceService
from integration.inference.harness import running, wait_for
from tickcast.contracts import Prediction
from tickcast.topics import Topic
from unit.inference.linear_models import BASE_MS, MINUTE_MS, InMemoryChallengers, LinearModel, candle, vector

pytestmark = pytest.mark.integration

SYMBOLS = ["AAAUSDT", "BBBUSDT", "CCCUSDT"]
STEPS = 40
HORIZON = 5


class Promotions:
    """The registry calls live promotion makes, recorded, moving the in-memory champion alias."""

    def __init__(self, source: InMemoryChallengers) -> None:
        self._source = source
        self.tags: dict[str, dict[str, str]] = {}

    def set_champion(self, name: str, version: str) -> None:
        assert name == self._source.model_name
        self._source.set_champion(version)

    def tag_version(self, name: str, version: str, tags: dict[str, str]) -> None:
        self.tags.setdefault(version, {}).update(tags)


def two_models() -> InMemoryChallengers:
    registry = InMemoryChallengers("m")
    registry.register(LinearModel("m", "1", weight=0.2))
    registry.register(LinearModel("m", "2", weight=1.0))
    registry.set_champion("1")
    registry.add_challenger("2")
    return registry


def stream(send) -> int:
    """Features whose ret_1 is the H-candle return that comes true, then the candles: matured rows made."""
    rng = np.random.default_rng(5)
    for symbol in SYMBOLS:
        closes = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.002, STEPS + HORIZON)))
        future = [math.log(closes[t + HORIZON] / closes[t]) for t in range(STEPS)]
        send(Topic.FEATURES, [vector(symbol, t, ret_1=future[t], close=float(closes[t])) for t in range(STEPS)])
        send(Topic.CANDLES, [candle(symbol, t, float(closes[t])) for t in range(STEPS + HORIZON)])
    return STEPS * len(SYMBOLS)


def leaderboard(redis_client, keys) -> dict | None:
    document = redis_client.get(keys.leaderboard())
    return None if document is None else json.loads(document)


def standings_of(document: dict | None) -> dict[str, dict]:
    return {s["label"]: s for s in (document or {}).get("standings", [])}


def test_every_model_on_the_same_matured_predictions_and_a_restart_continues(
    inference_settings, send, redis_client, keys
):
    settings = inference_settings.model_copy(update={"leaderboard_seconds": 0.2})
    registry = two_models()
    with running(InferenceService(settings, registry)):
        rows = stream(send)
        wait_for(lambda: standings_of(leaderboard(redis_client, keys)).get("m v1", {}).get("count") == rows,
                 timeout=60, what="every prediction matured on the leaderboard")
        document = leaderboard(redis_client, keys)
    standings = standings_of(document)
    assert set(standings) == {"m v1", "m v2", "persistence"}
    assert {s["count"] for s in standings.values()} == {rows}  # the same matured predictions
    assert standings["m v2"]["mae"] == pytest.approx(0.0, abs=1e-6)  # float32 features
    assert standings["m v1"]["mae"] == pytest.approx(0.8 * standings["persistence"]["mae"], rel=1e-4)
    assert standings["m v1"]["role"] == "champion" and standings["m v2"]["role"] == "challenger"
    assert standings["m v2"]["hit_rate_low"] < standings["m v2"]["hit_rate"] <= standings["m v2"]["hit_rate_high"]
    assert document["live_promotion"]["enabled"] is False

    # The challenger's predictions are kept per version in Redis, beside the champion's.
    latest = Prediction.parse(redis_client.get(keys.model_latest_prediction("2", SYMBOLS[0])))
    assert latest.model_version == "2" and latest.as_of_ms == BASE_MS + (STEPS - 1) * MINUTE_MS
    assert redis_client.zcard(keys.model_prediction_history("2", SYMBOLS[0])) == STEPS
    assert Prediction.parse(redis_client.get(keys.latest_prediction(SYMBOLS[0]))).model_version == "1"

    # Restarted with empty memory and no leaderboard in Redis: rebuilt from both prediction topics.
    redis_client.delete(keys.leaderboard())
    with running(InferenceService(settings, two_models())):
        wait_for(lambda: leaderboard(redis_client, keys) is not None, timeout=60, what="the leaderboard rebuilt")
        rebuilt = standings_of(leaderboard(redis_client, keys))
    assert {label: s["count"] for label, s in rebuilt.items()} == {label: rows for label in standings}
    for label, standing in standings.items():
        assert rebuilt[label]["mae"] == pytest.approx(standing["mae"], rel=1e-9, abs=1e-12)


def test_a_truly_better_challenger_is_promoted_live_and_the_decision_recorded(
    inference_settings, send, redis_client, keys
):
    settings = inference_settings.model_copy(update={
        "leaderboard_seconds": 0.2, "live_promotion": True, "live_promotion_min_count": 60,
        "live_promotion_alpha": 0.05})
    registry = two_models()
    promotions = Promotions(registry)
    with running(InferenceService(settings, registry, promotions=promotions)):
        stream(send)
        wait_for(lambda: promotions.tags.get("2", {}).get("live_promotion.decision") == "promote", timeout=60,
                 what="v2 promoted")
        wait_for(lambda: redis_client.hget(keys.served_model(), "version") == "2", timeout=30,
                 what="v2 served as champion")
    tags = promotions.tags["2"]
    assert tags["live_promotion.champion_version"] == "1"
    assert int(tags["live_promotion.count"]) >= 60 and float(tags["live_promotion.p_value"]) < 0.05
    assert float(tags["live_promotion.candidate_mae"]) < float(tags["live_promotion.champion_mae"])
    (decision,) = [json.loads(d) for d in redis_client.lrange(keys.live_promotion_decisions(), 0, -1)
                   if json.loads(d)["promote"]]
    assert decision["challenger_version"] == "2" and registry.champion_version() == "2"
