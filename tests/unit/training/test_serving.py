"""ServableModel's own arithmetic (scaling in, unscaling out, window checks) without Keras."""

from __future__ import annotations

import numpy as np
import pytest

from tickcast.model_bundle.bundle import BundleMetadata
from tickcast.model_bundle.scaling import Scaler
from tickcast.serving import ServableModel, registered_model_name


class LinearHeads:
    """Stands in for a Keras model: returns = sum of the newest scaled vector, per horizon."""

    def __call__(self, scaled: np.ndarray, training: bool = False) -> dict[str, np.ndarray]:
        newest = scaled[:, -1, :].sum(axis=1, keepdims=True)
        return {"returns": np.hstack([newest, 2 * newest]), "direction": np.full((len(scaled), 3), 1 / 3)}


def _model(lag: int = 2) -> ServableModel:
    scaler = Scaler(("a", "b"), mean=(1.0, 10.0), scale=(2.0, 5.0), target_scale=(0.01, 0.02))
    metadata = BundleMetadata("conv", ["BTCUSDT"], "1m", [5, 15], lag, ["a", "b"], "fs-1", 0.0005)
    return ServableModel.from_parts(metadata, scaler, LinearHeads(), "m", "3")


def test_predict_scales_inputs_and_unscales_the_primary_horizon() -> None:
    windows = np.array([[[0.0, 0.0], [3.0, 20.0]], [[9.0, 9.0], [1.0, 10.0]]], dtype=np.float32)
    # newest scaled vector: (3-1)/2 + (20-10)/5 = 3 -> 3 * 0.01; second row: 0 + 0 = 0
    np.testing.assert_allclose(_model().predict(windows), [0.03, 0.0], atol=1e-9)
    np.testing.assert_allclose(_model().predict_all_horizons(windows)[0], [0.03, 0.12], atol=1e-9)
    assert _model().predict_direction_proba(windows).shape == (2, 3)


def test_longer_windows_are_cut_to_the_lag_window_and_wrong_shapes_refused() -> None:
    model = _model(lag=1)
    long = np.zeros((4, 6, 2), dtype=np.float32)
    long[:, -1, :] = [3.0, 20.0]
    np.testing.assert_allclose(model.predict(long), np.full(4, 0.03), atol=1e-9)
    with pytest.raises(ValueError, match="expects"):
        model.predict(np.zeros((4, 1, 3)))
    with pytest.raises(ValueError, match="needs the last 2"):
        _model(lag=2).predict(np.zeros((4, 1, 2)))
    assert model.predict(np.zeros((0, 1, 2))).shape == (0,)


def test_registered_model_name_is_stable_per_symbols_interval_horizon() -> None:
    assert registered_model_name(["BTCUSDT"], "1m", 5) == "tickcast-btcusdt-1m-h5"
    assert registered_model_name(["ethusdt", "BTCUSDT"], "5m", 15) == registered_model_name(
        ["BTCUSDT", "ETHUSDT"], "5m", 15
    )
    with pytest.raises(ValueError):
        registered_model_name([], "1m", 5)
