"""One MLflow client per tracking URI, and the experiment that holds training runs."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import logging
import os

import structlog

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from tickcast.registry.settings import RegistrySettings

log = structlog.get_logger(__name__)

# Copying three bundle files does not need a progress bar per file.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
# Routine notes on every model save (pickling, uv files, pip version) would drown our own logs.
for _noisy in ("mlflow.pyfunc", "mlflow.utils.environment", "mlflow.utils.uv_utils", "mlflow.store.db.utils"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)


def mlflow_client(settings: RegistrySettings) -> MlflowClient:
    return _client(settings.tracking_uri())


def experiment_id(settings: RegistrySettings, name: str | None = None) -> str:
    """Id of the experiment (created on first use, its artifacts under the artifact root)."""
    return _experiment_id(settings.tracking_uri(), settings.artifact_root(), name or settings.mlflow_experiment)


@lru_cache(maxsize=8)
def _client(tracking_uri: str) -> MlflowClient:
    from mlflow import MlflowClient  # imported here: ~8 s, only for code that talks to MLflow

    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


@lru_cache(maxsize=32)
def _experiment_id(tracking_uri: str, artifact_root: str, name: str) -> str:
    from mlflow.exceptions import MlflowException

    client = _client(tracking_uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        created = client.create_experiment(name, artifact_location=f"{artifact_root.rstrip('/')}/{name}")
        log.info("mlflow experiment created", experiment=name, tracking_uri=tracking_uri)
        return created
    except MlflowException:
        # Another process created it between our lookup and our create.
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id
