"""Standardisation fitted on the training part only, stored as plain JSON next to the model."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Scaler:
    """Per-feature standardisation plus the scale of each target (returns are tiny numbers).

    The model sees ``(x - mean) / scale`` and predicts ``return / target_scale``.
    """

    feature_names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    target_scale: tuple[float, ...]

    @classmethod
    def fit(cls, feature_names: list[str], features: np.ndarray, targets: np.ndarray) -> Scaler:
        """Fit on training rows: ``features`` (n, n_features), ``targets`` (n, n_horizons)."""
        mean = features.mean(axis=0, dtype=np.float64)
        scale = features.std(axis=0, dtype=np.float64)
        # A constant feature carries nothing; a scale of 1 keeps it at zero instead of dividing by zero.
        scale = np.where(scale > 1e-12, scale, 1.0)
        target_scale = targets.std(axis=0, dtype=np.float64)
        target_scale = np.where(target_scale > 1e-12, target_scale, 1.0)
        return cls(tuple(feature_names), tuple(mean.tolist()), tuple(scale.tolist()), tuple(target_scale.tolist()))

    @classmethod
    def identity(cls, feature_names: list[str], n_targets: int) -> Scaler:
        """For a model that was trained on raw features and raw returns."""
        n = len(feature_names)
        return cls(tuple(feature_names), (0.0,) * n, (1.0,) * n, (1.0,) * n_targets)

    def with_target_factors(self, factors: np.ndarray) -> Scaler:
        """The same scaler with each horizon's output multiplied by a factor."""
        scaled = np.asarray(self.target_scale) * np.asarray(factors, dtype=np.float64)
        return Scaler(self.feature_names, self.mean, self.scale, tuple(scaled.tolist()))

    def transform(self, windows: np.ndarray, dtype: type = np.float32) -> np.ndarray:
        """Scale raw features; works on (..., n_features) arrays, returns ``dtype`` (float64 for trees,
        whose split thresholds a float32 rounding could cross)."""
        mean = np.asarray(self.mean, dtype=dtype)
        scale = np.asarray(self.scale, dtype=dtype)
        return ((windows.astype(dtype, copy=False) - mean) / scale).astype(dtype, copy=False)

    def scale_targets(self, targets: np.ndarray) -> np.ndarray:
        return (targets / np.asarray(self.target_scale)).astype(np.float32)

    def unscale_targets(self, scaled: np.ndarray) -> np.ndarray:
        return scaled.astype(np.float64) * np.asarray(self.target_scale)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> Scaler:
        raw = json.loads(path.read_text())
        return cls(**{key: tuple(value) for key, value in raw.items()})
