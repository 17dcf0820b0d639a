"""Fixtures of the training tests: a fresh MLflow (SQLite + local artifacts) per module."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.config import RegistrySettings


@pytest.fixture(scope="module")
def registry_settings(tmp_path_factory: pytest.TempPathFactory) -> RegistrySettings:
    root: Path = tmp_path_factory.mktemp("mlflow")
    return RegistrySettings(
        backend="mlflow",
        home=root,
        mlflow_tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
        mlflow_artifact_root=(root / "artifacts").as_uri(),
    )
