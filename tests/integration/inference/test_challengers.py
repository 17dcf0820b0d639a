"""Shadow challengers on the real broker, from a real MLflow registry, marked with the training CLI.

A Ridge champion and two challengers (another Ridge, a LightGBM) are fitted here and registered
in their MLflow flavours. The champion's predictions go to ``predictions``, the challengers' to
``predictions.challengers``, in one transaction per batch: a read_committed reader sees a
batch's champion and challenger predictions together or not at all, even after a hard kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from inference.champion import RegistryChampions
from inference.service import InferenceService
from integration.inference.harness import running, wait_for
from integration.inference.keras_bundles import FEATURES
from support.kafka import consume
from tickcast.contracts import Prediction
from tickcast.model_bundle.bundle import BundleMetadata, save_bundle
from tickcast.model_bundle.flavours import LIGHTGBM, SKLEARN
from tickcast.model_bundle.scaling import Scaler
from tickcast.registry import ModelToRegister, make_registry
from tickcast.registry.settings import RegistrySettings
from tickcast.topics import Topic
from training.__main__ import app as training_cli
from unit.inference.linear_models import BASE_MS, MINUTE_MS, ret_for, vector

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass(frozen=True)
class Registered:
    name: str
    models: dict[str, Any]  # version -> the fitted estimator

    def expected(self, prediction: Prediction) -> float:
        step = (prediction.as_of_ms - BASE_MS) // MINUTE_MS
        row = pd.DataFrame([[ret_for(prediction.symbol, step), 0.01]], columns=FEATURES, dtype=np.float64)
        return float(self.models[prediction.model_version].predict(row)[0])


def register_three(registry_settings: RegistrySettings, tmp_path: Path) -> Registered:
    """v1 (Ridge) champion; v2 (Ridge on another target) and v3 (LightGBM) registered, not yet challengers."""
    import lightgbm
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(11)
    inputs = pd.DataFrame({"ret_1": rng.normal(scale=0.002, size=2000), "vol_5": rng.uniform(0.0, 0.02, 2000)})
    noise = rng.normal(scale=0.0002, size=2000)
    fitted = {
        "1": (Ridge(alpha=1e-6).fit(inputs, 0.5 * inputs["ret_1"] + noise), "ridge", SKLEARN),
        "2": (Ridge(alpha=1e-6).fit(inputs, -0.8 * inputs["ret_1"] + 0.001 + noise), "ridge", SKLEARN),
        "3": (lightgbm.LGBMRegressor(n_estimators=30, num_leaves=7, verbose=-1).fit(inputs, 0.3 * inputs["ret_1"]),
              "lightgbm", LIGHTGBM),
    }
    name = f"tickcast-shadow{uuid.uuid4().hex[:6]}-1m-h5"
    registry = make_registry(registry_settings)
    example = inputs.to_numpy()[:3, None, :]
    for version, (model, kind, flavour) in fitted.items():
        metadata = BundleMetadata(kind, ["BTCUSDT"], "1m", [5], 1, FEATURES, "fs-a", 0.0005, flavour=flavour)
        folder = save_bundle(tmp_path / f"bundle-{version}", model, Scaler.identity(FEATURES, 1), metadata, example)
        registered = registry.register(name, ModelToRegister(folder, {"test_mae": 0.001}, {"kind": kind},
                                                             input_example=example))
        assert registered == version
    registry.set_champion(name, "1")
    return Registered(name, {version: model for version, (model, _, _) in fitted.items()})


def cli(*args: str) -> str:
    result = CliRunner().invoke(training_cli, ["challenger", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def cli_registry(monkeypatch: pytest.MonkeyPatch, registry_settings: RegistrySettings) -> RegistrySettings:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry_settings.tracking_uri())
    monkeypatch.setenv("MLFLOW_ARTIFACT_ROOT", registry_settings.artifact_root())
    return registry_settings


def parsed(records: list) -> list[Prediction]:
    return [Prediction.parse(record.value) for record in records]


def test_champion_and_two_challengers_then_one_removed(
    inference_settings, cli_registry, kafka_settings, topics, send, tmp_path
):
    models = register_three(cli_registry, tmp_path)
    cli("add", "--version", "2", "--name", models.name)
    assert "challengers v2, v3" in cli("add", "--version", "3", "--name", models.name)
    refused = CliRunner().invoke(training_cli, ["challenger", "add", "--version", "1", "--name", models.name])
    assert refused.exit_code != 0 and "champion" in refused.output  # the champion is served already
    symbols = [f"C{i:02d}USDT" for i in range(6)]

    def send_steps(steps: range) -> None:
        for step in steps:
            send(Topic.FEATURES, [vector(s, step, ret_1=ret_for(s, step)) for s in symbols])

    with running(InferenceService(inference_settings, RegistryChampions(models.name, cli_registry))) as handle:
        assert handle.service.challengers == [f"{models.name} v2", f"{models.name} v3"]
        send_steps(range(0, 3))
        champion = parsed(consume(kafka_settings, topics(Topic.PREDICTIONS), expected=3 * len(symbols), timeout=60))
        shadow = parsed(consume(kafka_settings, topics(Topic.PREDICTIONS_CHALLENGERS), expected=6 * len(symbols),
                                timeout=60))
        assert Counter(p.model_version for p in champion) == {"1": 3 * len(symbols)}
        assert Counter(p.model_version for p in shadow) == {"2": 3 * len(symbols), "3": 3 * len(symbols)}
        assert {p.model_name for p in champion + shadow} == {models.name}
        for prediction in champion + shadow:
            assert prediction.predicted_return == pytest.approx(models.expected(prediction), rel=1e-6, abs=1e-9)
        assert len({round(p.predicted_return, 9) for p in shadow if p.model_version == "3"}) > 1
        inputs = {(p.symbol, p.as_of_ms) for p in champion}
        for version in ("2", "3"):
            assert {(p.symbol, p.as_of_ms) for p in shadow if p.model_version == version} == inputs

        assert "challengers v3" in cli("remove", "--version", "2", "--name", models.name)
        wait_for(lambda: handle.service.challengers == [f"{models.name} v3"], what="v2 no longer served")
        send_steps(range(3, 6))
        consume(kafka_settings, topics(Topic.PREDICTIONS), expected=6 * len(symbols), timeout=60)
        shadow = parsed(consume(kafka_settings, topics(Topic.PREDICTIONS_CHALLENGERS), expected=9 * len(symbols),
                                timeout=60))
    later = [p for p in shadow if p.as_of_ms >= BASE_MS + 3 * MINUTE_MS]
    assert Counter(p.model_version for p in later) == {"3": 3 * len(symbols)}  # v2 stopped, v3 carried on
    assert len(shadow) == 9 * len(symbols)
    assert "challengers none" in cli("remove", "--version", "3", "--name", models.name)


SYMBOLS = [f"K{i:02d}USDT" for i in range(12)]


def by_model(predictions: list[Prediction]) -> dict[str, Counter]:
    found: dict[str, Counter] = {}
    for p in predictions:
        found.setdefault(p.model_version, Counter())[(p.symbol, p.as_of_ms)] += 1
    return found


def test_hard_kill_never_shows_a_partial_batch_and_restart_repeats_nothing(
    inference_settings, cli_registry, kafka_settings, topics, send, tmp_path
):
    models = register_three(cli_registry, tmp_path)
    make_registry(cli_registry).add_challenger(models.name, "2")
    make_registry(cli_registry).add_challenger(models.name, "3")
    env = {
        **os.environ,
        "INFERENCE_GROUP_ID": inference_settings.group_id,
        "INFERENCE_TRANSACTIONAL_ID": f"{inference_settings.group_id}-0",  # the restart fences its predecessor
        "INFERENCE_SESSION_TIMEOUT_MS": "6000",
        "INFERENCE_MODEL_NAME": models.name,
        "INFERENCE_CHAMPION_POLL_SECONDS": "60",
        "LOG_FORMAT": "json",
    }
    steps = 40

    def start(log: Path) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-m", "inference", "run"], env=env,
                                   stderr=log.open("w"), stdout=subprocess.DEVNULL)
        wait_for(lambda: "partitions assigned" in log.read_text() or process.poll() is not None, timeout=120,
                 what="the service to get its partitions")
        assert process.poll() is None, log.read_text()[-3000:]
        return process

    sent = {"steps": 0}

    def stream() -> None:
        for step in range(steps):
            send(Topic.FEATURES, [vector(s, step, ret_1=ret_for(s, step)) for s in SYMBOLS])
            sent["steps"] = step + 1
            time.sleep(0.1)

    first = start(tmp_path / "first.log")
    sender = threading.Thread(target=stream, daemon=True)
    sender.start()
    wait_for(lambda: sent["steps"] >= 15, timeout=60, what="15 steps sent")
    first.send_signal(signal.SIGKILL)  # mid-stream: a batch's transaction may be left open
    first.wait(timeout=30)

    # What a read_committed reader sees now: every batch whole on both topics, or not at all.
    visible_champion = parsed(consume(kafka_settings, topics(Topic.PREDICTIONS), timeout=20, idle=3))
    visible_shadow = parsed(consume(kafka_settings, topics(Topic.PREDICTIONS_CHALLENGERS), timeout=20, idle=3))
    assert visible_champion, "the first instance committed nothing before the kill"
    shown = by_model(visible_champion + visible_shadow)
    assert set(shown) == {"1", "2", "3"}
    assert set(shown["1"]) == set(shown["2"]) == set(shown["3"]), "a partial batch is visible"

    second = start(tmp_path / "second.log")
    try:
        sender.join(timeout=120)
        champion = parsed(consume(kafka_settings, topics(Topic.PREDICTIONS), expected=steps * len(SYMBOLS),
                                  timeout=90))
        shadow = parsed(consume(kafka_settings, topics(Topic.PREDICTIONS_CHALLENGERS),
                                expected=2 * steps * len(SYMBOLS), timeout=90))
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
    every = {(s, BASE_MS + step * MINUTE_MS) for s in SYMBOLS for step in range(steps)}
    for version, counts in by_model(champion + shadow).items():
        assert set(counts) == every, f"v{version}: some inputs got no prediction"
        assert set(counts.values()) == {1}, f"v{version}: some inputs got more than one prediction"
    assert {p.model_version for p in champion} == {"1"}
    assert second.returncode == 0, (tmp_path / "second.log").read_text()[-3000:]
