"""Scaler fitted on training rows only, and the validation-fitted shrinkage toward persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tickcast.model_bundle.scaling import Scaler
from training.models.trainer import fit_shrinkage


def test_shrinkage_keeps_a_real_signal_and_silences_noise() -> None:
    rng = np.random.default_rng(0)
    actual = rng.normal(0, 0.001, (5000, 2))
    informative = actual[:, :1] + rng.normal(0, 0.0003, (5000, 1))  # close to the truth
    noise = rng.normal(0, 0.001, (5000, 1))  # unrelated to it
    factors = fit_shrinkage(np.hstack([informative, noise]), actual)
    assert factors[0] >= 0.85
    assert factors[1] == 0.0  # "no change" beats a confident guess that knows nothing


def test_shrinkage_can_scale_an_underconfident_forecast_up() -> None:
    rng = np.random.default_rng(1)
    actual = rng.normal(0, 0.001, (5000, 1))
    assert fit_shrinkage(actual * 0.5, actual)[0] == pytest.approx(1.5)


def test_scaler_round_trip_and_target_factors(tmp_path: Path) -> None:
    features = np.array([[1.0, 5.0], [3.0, 5.0]])
    scaler = Scaler.fit(["a", "b"], features, np.array([[0.001], [-0.001]]))
    assert scaler.mean == (2.0, 5.0) and scaler.scale == (1.0, 1.0)  # constant feature: scale 1, not 0
    np.testing.assert_allclose(scaler.transform(features), [[-1.0, 0.0], [1.0, 0.0]])
    shrunk = scaler.with_target_factors(np.array([0.5]))
    np.testing.assert_allclose(shrunk.unscale_targets(np.array([[2.0]])), [[0.001]])
    shrunk.save(tmp_path / "scaler.json")
    assert Scaler.load(tmp_path / "scaler.json") == shrunk
