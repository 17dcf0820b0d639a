"""The Hopsworks registry behind the same interface: the same session, gate and serving path,
with a fake standing in for the ``hopsworks`` client (login, model registry, models).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tickcast.registry.settings import RegistrySettings
from training.config import TrainingSettings
from training.data.dataset import prepare_dataset
from training.pipeline import manual_decision, run_session
from tickcast.registry import make_registry
from tickcast.registry.hopsworks_registry import _model_registry
from tickcast.serving import champion_version, load_champion
from training.tracking import RunTracker

from .fake_hopsworks import FakeProject
from .frames import generated_feature_frame

pytestmark = pytest.mark.slow


@pytest.fixture
def hopsworks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeProject:
    import hopsworks as client

    fake = FakeProject(tmp_path / "hopsworks-models")
    monkeypatch.setattr(client, "login", fake.login)
    _model_registry.cache_clear()
    yield fake
    _model_registry.cache_clear()


def test_session_gate_and_serving_through_hopsworks(
    hopsworks: FakeProject, fresh_registry_settings: RegistrySettings, tmp_path: Path
) -> None:
    registry_settings = fresh_registry_settings.model_copy(
        update={"backend": "hopsworks", "hopsworks_host": "cluster.example", "hopsworks_project": "tickcast"}
    )
    settings = TrainingSettings(
        horizons="5,15", lag_window=4, epochs=8, batch_size=128, patience=3, output_dir=tmp_path / "out",
        registry=registry_settings,
    )
    data = prepare_dataset(
        generated_feature_frame("ar1", 1440 + 7000, phi=0.7), [5, 15], settings.dead_band, "1m", 60_000, 4, 0.15, 0.15,
        settings.excluded_features(),
    )
    registry = make_registry(registry_settings)
    result = run_session(
        settings, data, registry, RunTracker(registry_settings), kinds=["mlp"], show_progress=False
    )

    assert hopsworks.logins[0]["host"] == "cluster.example" and hopsworks.logins[0]["project"] == "tickcast"
    stored = hopsworks.model_registry.get_models("tickcast_btcusdt_1m_h5")
    assert [model.version for model in stored] == [1]
    assert stored[0].training_metrics["test_mae"] == pytest.approx(result.candidates[0].evaluation.mae)
    assert result.decision is not None and result.decision.promote
    assert champion_version(registry_settings, result.model_name) == "1"

    served = load_champion(registry_settings, result.model_name)
    assert served is not None
    windows = data.test.last(served.lag_window)
    np.testing.assert_array_equal(served.predict(windows), result.candidates[0].trained.servable.predict(windows))
    # Two horizons: one multi-output model, registered under its primary horizon.
    assert (served.horizon, served.horizons) == (5, (5, 15))
    assert served.predict_all_horizons(windows).shape == (len(windows), 2)
    assert "test_mae_h15" in result.candidates[0].evaluation.metrics()

    summary = registry.versions(result.model_name)[0]
    assert summary.is_champion and summary.tags["gate.decision"] == "promote"
    manual_decision(registry, RunTracker(registry_settings), result.model_name, "demote", "drift seen live")
    assert champion_version(registry_settings, result.model_name) is None
    assert registry.versions(result.model_name)[0].tags["gate.reason"] == "drift seen live"
    assert len(hopsworks.logins) == 1  # one login, reused by every later call


def test_challenger_marks_live_in_the_hopsworks_tag(
    hopsworks: FakeProject, fresh_registry_settings: RegistrySettings, tmp_path: Path
) -> None:
    from sklearn.linear_model import Ridge

    from tickcast.model_bundle.bundle import BundleMetadata, save_bundle
    from tickcast.model_bundle.flavours import SKLEARN
    from tickcast.model_bundle.scaling import Scaler
    from tickcast.registry import ModelToRegister
    from tickcast.serving import challenger_versions

    registry_settings = fresh_registry_settings.model_copy(
        update={"backend": "hopsworks", "hopsworks_host": "cluster.example", "hopsworks_project": "tickcast"}
    )
    registry = make_registry(registry_settings)
    features = ["ret_1", "vol_5"]
    inputs = np.random.default_rng(3).normal(size=(200, 2))
    model = Ridge().fit(inputs, inputs[:, 0])
    metadata = BundleMetadata("ridge", ["BTCUSDT"], "1m", [5], 1, features, "fs-a", 0.0005, flavour=SKLEARN)
    folder = save_bundle(tmp_path / "bundle", model, Scaler.identity(features, 1), metadata, inputs[:3, None, :])
    name = "tickcast-btcusdt-1m-h5"
    for _ in range(3):
        registry.register(name, ModelToRegister(folder, {"test_mae": 0.1}, {"kind": "ridge"},
                                                input_example=inputs[:3, None, :]))
    registry.set_champion(name, "1")
    assert challenger_versions(registry_settings, name) == []
    registry.add_challenger(name, "3")
    registry.add_challenger(name, "2")
    assert challenger_versions(registry_settings, name) == ["2", "3"]
    registry.remove_challenger(name, "3")
    assert registry.challenger_versions(name) == ["2"]
    assert registry.champion_version(name) == "1"  # the champion flag untouched by the challenger marks
    assert "challenger" not in registry.versions(name)[1].tags
    with pytest.raises(LookupError):
        registry.add_challenger(name, "9")
