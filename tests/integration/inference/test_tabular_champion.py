"""Inference serves a LightGBM champion (MLflow lightgbm flavour) from a real MLflow registry,
exactly as the model computes, through the same ``tickcast.serving`` path as a Keras one."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from inference.champion import RegistryChampions
from inference.service import InferenceService
from integration.inference.harness import running
from integration.inference.keras_bundles import FEATURES
from support.kafka import consume
from tickcast.contracts import Prediction
from tickcast.model_bundle.bundle import BundleMetadata, save_bundle
from tickcast.model_bundle.flavours import LIGHTGBM
from tickcast.model_bundle.scaling import Scaler
from tickcast.registry import ModelToRegister, make_registry
from tickcast.serving import registered_model_name
from tickcast.topics import Topic
from unit.inference.linear_models import BASE_MS, MINUTE_MS, ret_for, vector

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_lightgbm_champion_is_served_as_the_model_computes(
    inference_settings, registry_settings, kafka_settings, topics, send, tmp_path
):
    import lightgbm

    rng = np.random.default_rng(5)
    inputs = pd.DataFrame({"ret_1": rng.normal(scale=0.01, size=3000), "vol_5": rng.uniform(0.0, 0.02, 3000)})
    target = 0.5 * inputs["ret_1"] + rng.normal(scale=0.001, size=3000)
    model = lightgbm.LGBMRegressor(n_estimators=40, num_leaves=7, verbose=-1).fit(inputs, target)
    name = registered_model_name(["BTCUSDT"], "1m", 5)
    metadata = BundleMetadata("lightgbm", ["BTCUSDT"], "1m", [5], 1, FEATURES, "fs-a", 0.0005, flavour=LIGHTGBM)
    example = inputs.to_numpy()[:3, None, :]
    folder = save_bundle(tmp_path / "bundle", model, Scaler.identity(FEATURES, 1), metadata, example)
    registry = make_registry(registry_settings)
    version = registry.register(name, ModelToRegister(folder, {"test_mae": 0.001}, {"kind": "lightgbm"},
                                                      input_example=example))
    registry.set_champion(name, version)
    symbols = [f"L{i:02d}USDT" for i in range(8)]
    steps = 4

    with running(InferenceService(inference_settings, RegistryChampions(name, registry_settings))):
        for step in range(steps):
            send(Topic.FEATURES, [vector(s, step, ret_1=ret_for(s, step)) for s in symbols])
        records = consume(kafka_settings, topics(Topic.PREDICTIONS), expected=steps * len(symbols), timeout=60)

    published = [Prediction.parse(record.value) for record in records]
    assert Counter((p.model_name, p.model_version) for p in published) == {(name, version): steps * len(symbols)}
    for prediction in published:
        step = (prediction.as_of_ms - BASE_MS) // MINUTE_MS
        row = pd.DataFrame([[ret_for(prediction.symbol, step), 0.01]], columns=FEATURES, dtype=np.float32)
        expected = float(model.predict(row.astype(np.float64))[0])
        assert prediction.predicted_return == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert len({round(p.predicted_return, 9) for p in published}) > 1  # a constant model would prove nothing
