"""scikit-learn and LightGBM models go through the same sessions, gate and registry as the Keras ones.

A learnable process (AR(1) returns) must be learnt by every kind and beat persistence
significantly; on a random walk no kind may pass the gate. The promoted champion comes
back through ``tickcast.serving`` (what inference loads) in its own MLflow flavour.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tickcast.model_bundle.flavours import LIGHTGBM, SKLEARN
from tickcast.registry import make_registry
from tickcast.registry.settings import RegistrySettings
from tickcast.serving import load_champion
from training.config import TrainingSettings
from training.data.dataset import PreparedDataset
from training.evaluation.gate import decide
from training.pipeline import run_session
from training.models.tabular import TABULAR_KINDS
from training.tracking import RunTracker

from .frames import prepared_dataset

pytestmark = pytest.mark.slow

CANDLES = 1440 + 7000


def _settings(registry: RegistrySettings, tmp_path: Path) -> TrainingSettings:
    return TrainingSettings(horizons="5", lag_window=8, output_dir=tmp_path / "out", registry=registry)


def _gate_alone(settings: TrainingSettings, data: PreparedDataset, errors: np.ndarray) -> bool:
    """Would this candidate alone pass the gate against persistence (no champion yet)?"""
    return decide("1", errors, data.test.targets[:, 0], horizon=5, margin=settings.gate_margin,
                  alpha=settings.gate_alpha).promote


def test_every_tabular_kind_learns_a_learnable_process_and_is_served_in_its_flavour(
    fresh_registry_settings: RegistrySettings, tmp_path: Path
) -> None:
    settings = _settings(fresh_registry_settings, tmp_path)
    data = prepared_dataset(settings, "ar1", CANDLES)
    registry = make_registry(fresh_registry_settings)
    result = run_session(settings, data, registry, RunTracker(fresh_registry_settings), kinds=list(TABULAR_KINDS),
                         show_progress=False)

    persistence = next(row.evaluation for row in result.rows if row.name == "persistence")
    assert [candidate.kind for candidate in result.candidates] == list(TABULAR_KINDS)
    for candidate in result.candidates:
        assert candidate.evaluation.mae < persistence.mae, candidate.kind
        assert candidate.evaluation.skill > 0.03, (candidate.kind, candidate.evaluation.skill)
        assert _gate_alone(settings, data, candidate.errors), candidate.kind
        expected = LIGHTGBM if candidate.kind == "lightgbm" else SKLEARN
        assert candidate.trained.metadata.flavour == expected
    assert result.decision is not None and result.decision.promote, result.decision

    served = load_champion(fresh_registry_settings, result.model_name)
    assert served is not None and served.version == result.decision.candidate_version
    winner = next(c for c in result.candidates if c.version == served.version)
    assert served.kind == winner.kind and served.flavour == winner.trained.metadata.flavour
    assert served.feature_names == data.feature_names and served.feature_set_version == data.feature_set_version
    windows = data.test.last(1)[:200]
    np.testing.assert_allclose(served.predict(windows), winner.trained.servable.predict(windows), rtol=1e-9)
    assert np.std(served.predict(windows)) > 0


def test_no_tabular_kind_passes_the_gate_on_a_random_walk(
    fresh_registry_settings: RegistrySettings, tmp_path: Path
) -> None:
    settings = _settings(fresh_registry_settings, tmp_path)
    data = prepared_dataset(settings, "random_walk", CANDLES)
    registry = make_registry(fresh_registry_settings)
    result = run_session(settings, data, registry, RunTracker(fresh_registry_settings), kinds=list(TABULAR_KINDS),
                         show_progress=False)

    for candidate in result.candidates:
        assert abs(candidate.evaluation.skill) < 0.02, (candidate.kind, candidate.evaluation.skill)
        assert not _gate_alone(settings, data, candidate.errors), candidate.kind
    assert result.decision is not None and not result.decision.promote
    assert registry.champion_version(result.model_name) is None
