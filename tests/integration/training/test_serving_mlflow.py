"""A model registered in MLflow comes back through ``tickcast.serving`` predicting identically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tickcast.model_bundle.bundle import BundleMetadata, save_bundle
from tickcast.registry.settings import RegistrySettings
from training.models.networks import FitSettings, TrainingArrays, build_model, fit_model
from tickcast.registry import ModelToRegister, make_registry
from tickcast.model_bundle.scaling import Scaler
from tickcast.serving import ServableModel, champion_version, load_champion, registered_model_name

pytestmark = pytest.mark.slow

FEATURES = ["ret_1", "ret_5", "volume_z"]
LAG = 4


def _trained_bundle(folder: Path, seed: int) -> tuple[Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    raw = (rng.normal(size=(600, LAG, len(FEATURES))) * [0.001, 0.002, 1.0] + [0.0, 0.0, 5.0]).astype("float32")
    target = (raw[:, -1, :1] * 0.5 + rng.normal(scale=0.0005, size=(600, 1))).astype("float32")
    scaler = Scaler.fit(FEATURES, raw[:, -1, :], target)
    arrays = TrainingArrays(scaler.transform(raw), scaler.scale_targets(target), rng.integers(0, 3, 600))
    model = build_model("lstm", LAG, len(FEATURES), 1, seed=seed, learning_rate=1e-2)
    fit_model(model, arrays, arrays, FitSettings(2, 64, 2, 1e-2, 60.0, seed, show_progress=False))
    metadata = BundleMetadata("lstm", ["BTCUSDT"], "1m", [5], LAG, FEATURES, "fs-test", 0.0005)
    save_bundle(folder, model, scaler, metadata)
    expected = ServableModel.from_parts(metadata, scaler, model, "in-memory", "0").predict(raw[:50])
    return folder, raw[:50], expected


def test_registered_champion_loads_back_and_predicts_identically(
    registry_settings: RegistrySettings, tmp_path: Path
) -> None:
    name = registered_model_name(["BTCUSDT"], "1m", 5)
    assert champion_version(registry_settings, name) is None  # no such model yet

    bundle, windows, expected = _trained_bundle(tmp_path / "bundle", seed=7)
    registry = make_registry(registry_settings)
    version = registry.register(
        name, ModelToRegister(bundle, {"test_mae": 0.001}, {"kind": "lstm"}, input_example=windows[:3])
    )
    assert champion_version(registry_settings, name) is None  # registered is not promoted
    registry.set_champion(name, version)

    assert champion_version(registry_settings, name) == version
    served = load_champion(registry_settings, name)
    assert served is not None
    assert (served.name, served.version, served.lag_window, served.horizon) == (name, version, LAG, 5)
    assert served.feature_names == FEATURES and served.feature_set_version == "fs-test"
    assert served.offline_metrics["test_mae"] == pytest.approx(0.001)
    np.testing.assert_array_equal(served.predict(windows), expected)
    assert served.predict(windows).shape == (50,)
    assert np.std(expected) > 0  # a constant model would make the comparison meaningless


def test_alias_moves_and_clears(registry_settings: RegistrySettings, tmp_path: Path) -> None:
    name = registered_model_name(["ETHUSDT", "BTCUSDT"], "1m", 5)
    assert name == "tickcast-btcusdt-ethusdt-1m-h5"
    registry = make_registry(registry_settings)
    bundle, windows, _ = _trained_bundle(tmp_path / "bundle", seed=3)
    first = registry.register(name, ModelToRegister(bundle, {}, {}, windows[:2]))
    second = registry.register(name, ModelToRegister(bundle, {}, {}, windows[:2]))
    assert int(second) == int(first) + 1
    registry.set_champion(name, first)
    registry.set_champion(name, second)
    assert champion_version(registry_settings, name) == second
    assert [summary.is_champion for summary in registry.versions(name)] == [False, True]
    registry.clear_champion(name)
    assert champion_version(registry_settings, name) is None
    assert load_champion(registry_settings, name) is None


def test_pyfunc_flavour_predicts_like_the_bundle(registry_settings: RegistrySettings, tmp_path: Path) -> None:
    import mlflow.pyfunc

    name = registered_model_name(["SOLUSDT"], "1m", 5)
    registry = make_registry(registry_settings)
    bundle, windows, expected = _trained_bundle(tmp_path / "bundle", seed=5)
    version = registry.register(name, ModelToRegister(bundle, {}, {}, windows[:2]))
    mlflow.set_tracking_uri(registry_settings.tracking_uri())
    pyfunc = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    np.testing.assert_allclose(pyfunc.predict(windows), expected, rtol=0, atol=0)
