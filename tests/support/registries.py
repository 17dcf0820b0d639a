"""Throw-away MLflow registries for tests: SQLite and local artifacts under one folder."""

from __future__ import annotations

from pathlib import Path

from tickcast.registry.settings import RegistrySettings


def mlflow_registry_settings(root: Path) -> RegistrySettings:
    """The registry kept in ``root`` (``mlflow.db`` and ``artifacts/``); nothing is created yet."""
    return RegistrySettings(
        backend="mlflow",
        tickcast_home=root,
        mlflow_tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
        mlflow_artifact_root=(root / "artifacts").as_uri(),
    )
