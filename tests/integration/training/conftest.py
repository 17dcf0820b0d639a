"""Fixtures of the training tests: a fresh MLflow (SQLite + local artifacts) per module."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.config import RegistrySettings


@pytest.fixture(scope="module")
def registry_settings(tmp_path_factory: pytest.TempPathFactory) -> RegistrySettings:
    """Shared by the tests of a module: each test uses its own model names."""
    return _mlflow_in(tmp_path_factory.mktemp("mlflow"))


@pytest.fixture
def fresh_registry_settings(tmp_path: Path) -> RegistrySettings:
    """A registry of its own, for tests about which version is champion."""
    return _mlflow_in(tmp_path / "mlflow")


def _mlflow_in(root: Path) -> RegistrySettings:
    return RegistrySettings(
        backend="mlflow",
        home=root,
        mlflow_tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
        mlflow_artifact_root=(root / "artifacts").as_uri(),
    )
