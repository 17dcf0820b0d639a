"""MLflow model registry: versions of a registered model, and the ``champion`` alias."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from tickcast.model_bundle.bundle import find_bundle, read_bundle_metadata
from tickcast.model_bundle.flavours import REQUIREMENTS
from tickcast.registry.mlflow_support import mlflow_client
from tickcast.registry.base import ModelToRegister, VersionSummary
from tickcast.model_bundle.servable import ServableModel
from tickcast.registry.base import CHALLENGER_ALIAS_PREFIX, CHAMPION_ALIAS, challenger_alias
from tickcast.registry.champion_history import ChampionChange, change_tag, history_from_tags

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from tickcast.registry.settings import RegistrySettings

log = structlog.get_logger(__name__)

# Pinned so saving does not spend seconds inferring requirements by importing the model.
PYFUNC_REQUIREMENTS = ["numpy", "pandas", "mlflow"]
_MISSING = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}


class MlflowRegistry:
    def __init__(self, settings: RegistrySettings) -> None:
        self._settings = settings
        self._client = mlflow_client(settings)
        self._tracking_uri = settings.tracking_uri()

    @classmethod
    def from_settings(cls, settings: RegistrySettings) -> MlflowRegistry:
        return cls(settings)

    def register(self, name: str, model: ModelToRegister) -> str:
        import mlflow.pyfunc
        from mlflow.models import infer_signature

        from tickcast.model_bundle.pyfunc import TickcastPyfunc, bundle_artifacts

        from tickcast.registry.mlflow_support import experiment_id

        # Looked up only here: readers (champion polling) never create an experiment.
        run_id = model.run_id or self._client.create_run(
            experiment_id(self._settings), run_name=f"register-{name}"
        ).info.run_id
        example = model.input_example.astype("float32")
        with tempfile.TemporaryDirectory() as tmp:
            saved = Path(tmp) / "model"
            mlflow.pyfunc.save_model(
                path=str(saved),
                python_model=TickcastPyfunc(),
                artifacts=bundle_artifacts(model.bundle_dir),
                # Output shape only: the pyfunc returns one float per window.
                signature=infer_signature(example, example[:, 0, 0].astype("float64")),
                pip_requirements=PYFUNC_REQUIREMENTS + REQUIREMENTS[read_bundle_metadata(model.bundle_dir)[0].flavour],
            )
            self._client.log_artifacts(run_id, str(saved), "model")
        source = f"{self._client.get_run(run_id).info.artifact_uri}/model"
        self._ensure_registered_model(name)
        tags = {**model.tags, **{f"metric.{key}": f"{value:.6g}" for key, value in model.metrics.items()}}
        version = self._client.create_model_version(name, source, run_id=run_id, tags=dict(tags))
        log.info("model version registered", model=name, version=version.version, run_id=run_id)
        return str(version.version)

    def champion_version(self, name: str) -> str | None:
        from mlflow.exceptions import MlflowException

        try:
            return str(self._client.get_model_version_by_alias(name, CHAMPION_ALIAS).version)
        except MlflowException as exc:
            if exc.error_code in _MISSING:
                return None
            raise

    def set_champion(self, name: str, version: str) -> None:
        self._client.set_registered_model_alias(name, CHAMPION_ALIAS, version)
        self._record_champion(name, version)

    def clear_champion(self, name: str) -> None:
        if self.champion_version(name) is not None:
            self._client.delete_registered_model_alias(name, CHAMPION_ALIAS)
            self._record_champion(name, None)

    def champion_history(self, name: str) -> list[ChampionChange]:
        from mlflow.exceptions import MlflowException

        try:
            return history_from_tags(self._client.get_registered_model(name).tags or {})
        except MlflowException as exc:
            if exc.error_code in _MISSING:
                return []
            raise

    def _record_champion(self, name: str, version: str | None) -> None:
        # After the alias moved: a crash in between loses one history entry, never the alias.
        key, value = change_tag(int(time.time() * 1000), version)
        self._client.set_registered_model_tag(name, key, value)

    def challenger_versions(self, name: str) -> list[str]:
        from mlflow.exceptions import MlflowException

        try:
            aliases = self._client.get_registered_model(name).aliases or {}
        except MlflowException as exc:
            if exc.error_code in _MISSING:
                return []
            raise
        found = {str(version) for alias, version in aliases.items() if alias.startswith(CHALLENGER_ALIAS_PREFIX)}
        return sorted(found, key=int)

    def add_challenger(self, name: str, version: str) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self._client.get_model_version(name, version)
        except MlflowException as exc:
            if exc.error_code in _MISSING:
                raise LookupError(f"{name} has no version {version} in the MLflow registry") from None
            raise
        self._client.set_registered_model_alias(name, challenger_alias(version), version)

    def remove_challenger(self, name: str, version: str) -> None:
        if version in self.challenger_versions(name):
            self._client.delete_registered_model_alias(name, challenger_alias(version))

    def tag_version(self, name: str, version: str, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self._client.set_model_version_tag(name, version, key, value)

    def load(self, name: str, version: str) -> ServableModel:
        import mlflow.artifacts

        model_version = self._client.get_model_version(name, version)
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_version.source, tracking_uri=self._tracking_uri))
        bundle_dir = find_bundle(local)
        return ServableModel.from_bundle(bundle_dir, name, str(version), _version_metrics(model_version.tags))

    def versions(self, name: str) -> list[VersionSummary]:
        champion = self.champion_version(name)
        found = self._client.search_model_versions(f"name = '{name}'")
        summaries = [
            VersionSummary(
                version=str(found_version.version),
                is_champion=str(found_version.version) == champion,
                metrics=_version_metrics(found_version.tags),
                tags={key: value for key, value in found_version.tags.items() if not key.startswith("metric.")},
                created_ms=int(found_version.creation_timestamp or 0),
            )
            for found_version in found
        ]
        return sorted(summaries, key=lambda summary: int(summary.version))

    def _ensure_registered_model(self, name: str) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self._client.create_registered_model(name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise


def _version_metrics(tags: Mapping[str, str]) -> dict[str, float]:
    return {key.removeprefix("metric."): float(value) for key, value in tags.items() if key.startswith("metric.")}
