"""A LightGBM model trained outside the project (plain lightgbm + mlflow on the exported dataset)
is accepted by ``training register`` and served through ``tickcast.serving``; one trained on other
columns, or on another feature-set version, is refused with what differs.
"""

from __future__ import annotations

from pathlib import Path

import lightgbm
import mlflow.lightgbm
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from mlflow.models import infer_signature
from typer.testing import CliRunner

from tickcast.model_bundle.flavours import LIGHTGBM
from tickcast.model_bundle.scaling import Scaler
from tickcast.registry import make_registry
from tickcast.registry.settings import RegistrySettings
from tickcast.serving import load_champion
from training.__main__ import app

pytestmark = pytest.mark.slow

SYNTHETIC = ["--source", "synthetic", "--candles", "6000"]
NAME = "tickcast-btcusdt-1m-h5"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, cli_registry_settings: RegistrySettings) -> RegistrySettings:
    monkeypatch.setenv("TRAINING_LAG_WINDOW", "4")
    return cli_registry_settings


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _train_elsewhere(data: pd.DataFrame, columns: list[str], folder: Path, feature_set_version: str) -> Path:
    """What a user does on a laptop with the exported file: nothing from tickcast."""
    train = data[data["split"] == "train"].dropna(subset=[*columns, "target_h5"])
    model = lightgbm.LGBMRegressor(n_estimators=60, num_leaves=7, min_child_samples=50, verbose=-1)
    model.fit(train[columns], train["target_h5"])
    example = train[columns].head(5)
    mlflow.lightgbm.save_model(
        model, str(folder), signature=infer_signature(example, model.predict(example)),
        metadata={"feature_set_version": feature_set_version},
    )
    return folder


def test_external_lightgbm_is_registered_and_served_and_a_mismatched_one_is_refused(
    cli_env: RegistrySettings, tmp_path: Path
) -> None:
    code, output = _cli("export-dataset", "--out", str(tmp_path / "data.parquet"), *SYNTHETIC)
    assert code == 0, output
    data = pd.read_parquet(tmp_path / "data.parquet")
    columns = list(Scaler.load(tmp_path / "data.scaler.json").feature_names)  # the model's inputs, in order
    version_of_features = str(data["feature_set_version"].iloc[0])

    good = _train_elsewhere(data, columns, tmp_path / "good", version_of_features)
    code, output = _cli("register", str(good), *SYNTHETIC)
    assert code == 0, output
    registry = make_registry(cli_env)
    (registered,) = registry.versions(NAME)
    assert registered.tags["kind"] == LIGHTGBM
    _cli("promote", registered.version, "--reason", "trained on a laptop")  # served whatever the gate said

    served = load_champion(cli_env, NAME)
    assert served is not None and served.flavour == LIGHTGBM and served.version == registered.version
    rows = data[data["split"] == "test"].dropna(subset=columns).head(50)
    expected = mlflow.lightgbm.load_model(str(good)).predict(rows[columns])
    got = served.predict(rows[columns].to_numpy()[:, None, :])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)
    assert np.std(got) > 0
    # The registered version is also an MLflow pyfunc of raw windows, for any other MLflow tooling.
    as_pyfunc = mlflow.pyfunc.load_model(f"models:/{NAME}/{registered.version}")
    np.testing.assert_allclose(as_pyfunc.predict(rows[columns].to_numpy()[:, None, :].astype("float32")),
                               served.predict(rows[columns].to_numpy()[:, None, :].astype("float32")), rtol=1e-12)

    fewer = _train_elsewhere(data, columns[:-1], tmp_path / "fewer", version_of_features)
    code, output = _cli("register", str(fewer), *SYNTHETIC)
    assert code == 2
    assert "inputs do not match the feature set" in output and f"missing ['{columns[-1]}']" in output

    other_version = _train_elsewhere(data, columns, tmp_path / "other-version", "fs-other")
    code, output = _cli("register", str(other_version), *SYNTHETIC)
    assert code == 2
    assert "was trained on feature set fs-other" in output
    assert [summary.version for summary in registry.versions(NAME)] == [registered.version]  # nothing added
