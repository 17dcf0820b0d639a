"""Serving real Keras models from a real MLflow registry; the champion alias moves mid-stream."""

from __future__ import annotations

import json
import time
from collections import Counter

import numpy as np
import pytest

from inference.champion import RegistryChampions
from inference.model import BASELINE_NAME
from inference.service import InferenceService
from integration.inference.harness import running, wait_for
from integration.inference.keras_bundles import register_linear
from support.kafka import consume
from tickcast.contracts import Prediction
from tickcast.topics import Topic
from tickcast.registry import make_registry
from tickcast.serving import registered_model_name
from unit.inference.linear_models import BASE_MS, MINUTE_MS, ret_for, vector

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_alias_move_swaps_in_the_new_version_without_loss_or_repeat(
    inference_settings, registry_settings, kafka_settings, topics, send, redis_client, keys, tmp_path
):
    name = registered_model_name(["BTCUSDT"], "1m", 5)
    first, first_weights = register_linear(registry_settings, name, tmp_path / "v1", lag_window=2, seed=1)
    second, second_weights = register_linear(registry_settings, name, tmp_path / "v2", lag_window=3, seed=2)
    registry = RegistryChampions(name, registry_settings)
    make_registry(registry_settings).set_champion(name, first)
    symbols = [f"S{i:02d}USDT" for i in range(10)]
    steps = 24

    with running(InferenceService(inference_settings.model_copy(update={"champion_poll_seconds": 0.3}),
                                  registry)):
        assert redis_client.hget(keys.served_model(), "version") == first
        for step in range(steps):
            send(Topic.FEATURES, [vector(s, step, ret_1=ret_for(s, step)) for s in symbols])
            if step == steps // 2:
                make_registry(registry_settings).set_champion(name, second)
            time.sleep(0.1)
        records = consume(kafka_settings, topics(Topic.PREDICTIONS), expected=steps * len(symbols), timeout=60)
        wait_for(lambda: redis_client.hget(keys.served_model(), "version") == second, what="the swap")

    published = [Prediction.parse(record.value) for record in records]
    assert Counter(Counter((p.symbol, p.as_of_ms) for p in published).values()) == {1: steps * len(symbols)}
    weights = {first: first_weights, second: second_weights}
    served = Counter(p.model_version for p in published)
    assert served[first] > 0 and served[second] > 0
    for prediction in published:
        step = (prediction.as_of_ms - BASE_MS) // MINUTE_MS
        if prediction.model_name == BASELINE_NAME:
            assert step == 0, "only a symbol's first vector lacks the history a lag-2 model needs"
            continue
        window = np.array([[ret_for(prediction.symbol, s), 0.01] for s in range(step - 2, step + 1) if s >= 0])
        assert prediction.predicted_return == pytest.approx(
            weights[prediction.model_version].expected(window), rel=1e-4, abs=1e-7)
    served_hash = redis_client.hgetall(keys.served_model())
    assert served_hash["name"] == name
    assert json.loads(served_hash["offline_metrics"]) == {"test_mae": pytest.approx(0.002)}
