"""A model bundle loaded and ready to predict: raw feature windows in, log returns out.

The registry hands these out (:mod:`tickcast.registry`); :mod:`tickcast.serving` finds the champion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tickcast.model_bundle import flavours
from tickcast.model_bundle.bundle import BundleMetadata, read_bundle_metadata
from tickcast.model_bundle.scaling import Scaler

_PREDICT_CHUNK = 8192


@dataclass(frozen=True)
class ServableModel:
    name: str  # registered model name
    version: str  # registry version
    feature_names: list[str]  # column order the model expects
    feature_set_version: str
    interval: str
    horizon: int  # candles ahead (primary horizon)
    lag_window: int  # 1 for the MLP; L for conv/LSTM (inputs are the last L vectors)
    horizons: tuple[int, ...] = ()
    symbols: tuple[str, ...] = ()
    kind: str = ""
    dead_band: float = 0.0
    offline_metrics: Mapping[str, float] = field(default_factory=dict)
    flavour: str = flavours.KERAS
    scaler: Scaler | None = field(default=None, repr=False, compare=False)
    model: Any = field(default=None, repr=False, compare=False)  # Keras model, or the flavour's predictor

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """(n, lag_window, n_features) raw features -> (n,) predicted log return (primary horizon)."""
        return self.predict_all_horizons(windows)[:, 0]

    def predict_all_horizons(self, windows: np.ndarray) -> np.ndarray:
        """(n, lag_window, n_features) raw features -> (n, len(horizons)) predicted log returns."""
        scaled = self._scaled_inputs(windows)
        assert self.scaler is not None
        if len(scaled) == 0:
            return np.empty((0, len(self.scaler.target_scale)))
        if self.flavour != flavours.KERAS:
            return self.scaler.unscale_targets(flavours.predict_tabular(self.model, scaled, self.feature_names))
        outputs = [_returns_output(self._call(chunk)) for chunk in _chunks(scaled)]
        return self.scaler.unscale_targets(np.concatenate(outputs, axis=0).reshape(len(scaled), -1))

    def predict_direction_proba(self, windows: np.ndarray) -> np.ndarray | None:
        """(n, 3) probabilities of down / flat / up, or None for a model without a direction head."""
        if self.flavour != flavours.KERAS:
            return None  # tabular models forecast returns only
        scaled = self._scaled_inputs(windows)
        if len(scaled) == 0:
            return np.empty((0, 3))
        outputs = [self._call(chunk) for chunk in _chunks(scaled)]
        if not isinstance(outputs[0], dict) or "direction" not in outputs[0]:
            return None
        return np.concatenate([np.asarray(out["direction"]) for out in outputs], axis=0)

    def _call(self, batch: np.ndarray) -> Any:
        # A direct call, not model.predict: no per-shape tf.function retracing, no progress output.
        raw = self.model(batch, training=False)
        if isinstance(raw, dict):
            return {key: np.asarray(value) for key, value in raw.items()}
        if isinstance(raw, list | tuple):
            return [np.asarray(value) for value in raw]
        return np.asarray(raw)

    def _scaled_inputs(self, windows: np.ndarray) -> np.ndarray:
        windows = np.asarray(windows)
        if windows.ndim != 3 or windows.shape[2] != len(self.feature_names):
            raise ValueError(
                f"{self.name} v{self.version} expects (n, {self.lag_window}, {len(self.feature_names)}) windows, "
                f"got {windows.shape}"
            )
        if windows.shape[1] < self.lag_window:
            raise ValueError(f"{self.name} needs the last {self.lag_window} vectors, got {windows.shape[1]}")
        if self.scaler is None or self.model is None:
            raise RuntimeError(f"{self.name} v{self.version} has no loaded model")
        dtype = np.float32 if self.flavour == flavours.KERAS else np.float64
        return self.scaler.transform(windows[:, -self.lag_window :, :], dtype)

    @classmethod
    def from_bundle(
        cls, folder: Path, name: str, version: str, offline_metrics: Mapping[str, float] | None = None
    ) -> ServableModel:
        metadata, scaler = read_bundle_metadata(folder)
        model = flavours.load_model(folder, metadata.flavour)
        return cls.from_parts(metadata, scaler, model, name, version, offline_metrics)

    @classmethod
    def from_parts(
        cls,
        metadata: BundleMetadata,
        scaler: Scaler,
        model: Any,
        name: str,
        version: str,
        offline_metrics: Mapping[str, float] | None = None,
    ) -> ServableModel:
        return cls(
            name=name,
            version=version,
            feature_names=list(metadata.feature_names),
            feature_set_version=metadata.feature_set_version,
            interval=metadata.interval,
            horizon=metadata.horizon,
            lag_window=metadata.lag_window,
            horizons=tuple(metadata.horizons),
            symbols=tuple(metadata.symbols),
            kind=metadata.kind,
            dead_band=metadata.dead_band,
            offline_metrics=dict(offline_metrics or {}),
            flavour=metadata.flavour,
            scaler=scaler,
            model=model,
        )


def _returns_output(raw: Any) -> np.ndarray:
    # Our models name their heads; a model trained elsewhere may have a single output.
    if isinstance(raw, dict):
        return np.asarray(raw["returns"])
    if isinstance(raw, list | tuple):
        return np.asarray(raw[0])
    return np.asarray(raw)


def _chunks(array: np.ndarray) -> list[np.ndarray]:
    return [array[start : start + _PREDICT_CHUNK] for start in range(0, len(array), _PREDICT_CHUNK)]
