"""Real Keras models with known weights, registered in a real MLflow, for the serving tests.

A linear Keras model (flatten, then one dense unit) computes a function a test can
recompute with numpy from the same weights, so each prediction can be traced to the
model version that made it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tickcast.model_bundle.bundle import BundleMetadata, save_bundle
from tickcast.registry.settings import RegistrySettings
from tickcast.registry import ModelToRegister, make_registry
from tickcast.model_bundle.scaling import Scaler

FEATURES = ["ret_1", "vol_5"]


@dataclass(frozen=True)
class LinearKeras:
    kernel: np.ndarray  # (lag_window * n_features,)
    bias: float
    lag_window: int

    def expected(self, window: np.ndarray) -> float:
        """What the Keras model computes for one (lag_window, n_features) window."""
        flat = np.asarray(window, dtype=np.float32)[-self.lag_window :].reshape(-1)
        return float(flat @ self.kernel.astype(np.float32) + np.float32(self.bias))


def linear_keras(lag_window: int, seed: int) -> tuple[LinearKeras, object]:
    import keras  # imported here: ~10 s

    rng = np.random.default_rng(seed)
    weights = LinearKeras(rng.normal(scale=0.5, size=lag_window * len(FEATURES)).astype(np.float32),
                          float(rng.normal(scale=0.001)), lag_window)
    model = keras.Sequential([keras.Input((lag_window, len(FEATURES))), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.layers[-1].set_weights([weights.kernel.reshape(-1, 1), np.array([weights.bias], dtype=np.float32)])
    return weights, model


def register_linear(settings: RegistrySettings, name: str, folder: Path, lag_window: int, seed: int,
                    feature_set_version: str = "fs-a") -> tuple[str, LinearKeras]:
    weights, model = linear_keras(lag_window, seed)
    metadata = BundleMetadata("keras", ["BTCUSDT"], "1m", [5], lag_window, FEATURES, feature_set_version, 0.0005)
    save_bundle(folder, model, Scaler.identity(FEATURES, 1), metadata)
    example = np.zeros((2, lag_window, len(FEATURES)), dtype=np.float32)
    version = make_registry(settings).register(
        name, ModelToRegister(folder, {"test_mae": 0.001 * seed}, {"kind": "keras"}, input_example=example))
    return version, weights
