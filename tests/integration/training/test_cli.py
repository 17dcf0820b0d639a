"""The command line end to end on generated candles: train, export, register a local model,
compare, and the manual overrides; all against a throw-away MLflow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.fs
import pytest
from typer.testing import CliRunner

from training.__main__ import app
from tickcast.registry.settings import RegistrySettings
from tickcast.registry.mlflow_support import experiment_id, mlflow_client
from tickcast.registry import make_registry
from tickcast.model_bundle.scaling import Scaler

pytestmark = pytest.mark.slow

SYNTHETIC = ["--source", "synthetic", "--candles", "4500"]
NAME = "tickcast-btcusdt-1m-h5"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, cli_registry_settings: RegistrySettings) -> RegistrySettings:
    for key, value in {"EPOCHS": "3", "MODELS": "mlp", "LAG_WINDOW": "4", "BATCH_SIZE": "128"}.items():
        monkeypatch.setenv(f"TRAINING_{key}", value)
    return cli_registry_settings


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_export_dataset_keeps_the_time_split_and_the_training_scaler(cli_env: RegistrySettings, tmp_path: Path) -> None:
    _run("export-dataset", "--out", str(tmp_path / "data.csv"), *SYNTHETIC)
    _run("export-dataset", "--out", str(tmp_path / "data.parquet"), *SYNTHETIC)
    csv = pd.read_csv(tmp_path / "data.csv")
    parquet = pd.read_parquet(tmp_path / "data.parquet", filesystem=pyarrow.fs.LocalFileSystem())
    pd.testing.assert_frame_equal(csv, parquet, check_dtype=False)
    assert {"target_h5", "direction", "next_return", "split", "ret_1", "close"} <= set(csv.columns)
    times = {part: csv.loc[csv["split"] == part, "timestamp_ms"] for part in ("train", "validation", "test")}
    assert times["train"].max() + 5 * 60_000 < times["validation"].min()
    assert times["validation"].max() + 5 * 60_000 < times["test"].min()
    scaler = Scaler.load(tmp_path / "data.scaler.json")
    train = csv[csv["split"] == "train"].iloc[3:]  # rows with a full window of 4 candles
    index = list(scaler.feature_names).index("ret_1")
    assert scaler.mean[index] == pytest.approx(train["ret_1"].mean(), rel=1e-6)  # fitted on train only
    assert scaler.mean[index] != pytest.approx(csv["ret_1"].mean(), rel=1e-6)


def test_schedule_register_compare_promote_demote(cli_env: RegistrySettings, tmp_path: Path) -> None:
    # Two scheduled sessions: each trains a challenger and puts it through the gate.
    output = _run("schedule", "--runs", "2", "--every", "1s", *SYNTHETIC)
    for row in ("persistence", "ema_drift", "mlp"):
        assert f"\n{row} " in output
    assert "gate: v1" in output and "gate: v2" in output

    # A user trains a model of their own on the exported file, then registers it.
    _run("export-dataset", "--out", str(tmp_path / "data.csv"), *SYNTHETIC)
    local_model = _train_locally(tmp_path / "data.csv", tmp_path / "data.scaler.json", tmp_path / "mine.keras")
    output = _run("register", str(local_model), "--scaler", str(tmp_path / "data.scaler.json"), *SYNTHETIC)
    assert "\nkeras " in output and "gate: v3" in output

    table = _run("compare")
    assert NAME in table and "keras" in table and "mlp" in table

    assert "champion is now v3" in _run("promote", "3", "--reason", "reviewed by hand")
    registry = make_registry(cli_env)
    assert registry.champion_version(NAME) == "3"
    # The champion scored on a period it never saw (another generated series).
    scored = CliRunner().invoke(app, ["evaluate", *SYNTHETIC], env={"TRAINING_SEED": "7"}, catch_exceptions=False)
    assert scored.exit_code == 0, scored.output
    assert f"{NAME} v3 on " in scored.output and "vs persistence: skill" in scored.output
    assert "\npersistence " in scored.output and "\nkeras " in scored.output

    assert "champion is now none" in _run("demote", "--reason", "bad week live")
    assert registry.champion_version(NAME) is None

    bad = CliRunner().invoke(app, ["promote", "9", "--reason", "typo"])
    assert bad.exit_code != 0 and "no version 9" in bad.output

    decisions = mlflow_client(cli_env).search_runs([experiment_id(cli_env, f"{cli_env.mlflow_experiment}-gate")])
    reasons = {run.data.tags.get("gate.reason") for run in decisions}
    assert {"reviewed by hand", "bad week live"} <= reasons
    assert len(decisions) == 5  # three gate decisions and two manual ones


def _train_locally(csv_path: Path, scaler_path: Path, out: Path) -> Path:
    import keras

    frame = pd.read_csv(csv_path)
    scaler = Scaler.load(scaler_path)
    train = frame[(frame["split"] == "train") & frame["target_h5"].notna()]
    inputs = scaler.transform(train[list(scaler.feature_names)].to_numpy()[:, None, :])
    targets = scaler.scale_targets(train[["target_h5"]].to_numpy())
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((1, len(scaler.feature_names))), keras.layers.Flatten(),
                              keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile("adam", "huber")
    model.fit(inputs, targets, epochs=2, batch_size=128, verbose=0)
    model.save(out)
    assert np.isfinite(model.predict(inputs[:3], verbose=0)).all()
    return out
