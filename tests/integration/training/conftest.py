"""Fixtures of the training tests: throw-away MLflow registries (SQLite + local artifacts).

Creating MLflow's SQLite schema takes seconds, so it is created once per session and
each registry starts from a copy of that empty database.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tickcast.registry.settings import RegistrySettings
from tickcast.registry.mlflow_support import mlflow_client
from support.registries import mlflow_registry_settings


@pytest.fixture(scope="session")
def empty_mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mlflow-template")
    mlflow_client(mlflow_registry_settings(root)).search_experiments()  # creates the schema
    return root / "mlflow.db"


@pytest.fixture(scope="module")
def registry_settings(tmp_path_factory: pytest.TempPathFactory, empty_mlflow_db: Path) -> RegistrySettings:
    """Shared by the tests of a module: each test uses its own model names."""
    return _registry_from(empty_mlflow_db, tmp_path_factory.mktemp("mlflow"))


@pytest.fixture
def fresh_registry_settings(tmp_path: Path, empty_mlflow_db: Path) -> RegistrySettings:
    """A registry of its own, for tests about which version is champion."""
    return _registry_from(empty_mlflow_db, tmp_path / "mlflow")


@pytest.fixture
def cli_registry_settings(
    fresh_registry_settings: RegistrySettings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> RegistrySettings:
    """A registry of its own that ``python -m training`` commands run by the test find in their
    environment, as a deployment sets it; their sessions' output goes under the test's folder."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", fresh_registry_settings.tracking_uri())
    monkeypatch.setenv("MLFLOW_ARTIFACT_ROOT", fresh_registry_settings.artifact_root())
    monkeypatch.setenv("TRAINING_OUTPUT_DIR", str(tmp_path / "sessions"))
    return fresh_registry_settings


def _registry_from(template: Path, root: Path) -> RegistrySettings:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, root / "mlflow.db")
    return mlflow_registry_settings(root)
