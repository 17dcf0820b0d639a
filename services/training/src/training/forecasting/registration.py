"""Register a forecaster set as a new version of its MLflow model and make it the champion.

Each target inside the set already went through its own gate (a baseline is served where no model
earned it), so the newest set is the one served.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import structlog

from tickcast.forecast.forecaster_set import ForecasterSet
from tickcast.forecast.store import CHAMPION_ALIAS

from tickcast.registry.settings import RegistrySettings
from tickcast.registry.mlflow_support import mlflow_client

log = structlog.get_logger(__name__)


def register_set(settings: RegistrySettings, run_id: str, forecaster_set: ForecasterSet, name: str,
                 tags: dict[str, str]) -> str:
    from mlflow.exceptions import MlflowException

    client = mlflow_client(settings)
    with tempfile.TemporaryDirectory() as tmp:
        forecaster_set.save(Path(tmp))
        client.log_artifacts(run_id, tmp, "forecaster_set")
    source = f"{client.get_run(run_id).info.artifact_uri}/forecaster_set"
    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    version = str(client.create_model_version(name, source, run_id=run_id, tags=tags).version)
    client.set_registered_model_alias(name, CHAMPION_ALIAS, version)
    log.info("forecaster set registered", model=name, version=version, run_id=run_id)
    return version
