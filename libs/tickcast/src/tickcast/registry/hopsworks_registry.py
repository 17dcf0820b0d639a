"""Hopsworks model registry behind :class:`ModelRegistry`.

Hopsworks has no aliases, so the champion is a flag in one JSON tag per model version
(``tickcast``; the tag schema must exist in the cluster, any JSON object); a challenger
is the ``challenger`` flag of the same tag. Model names
may only hold letters, digits and underscores, so ``tickcast-btcusdt-1m-h5`` is stored
as ``tickcast_btcusdt_1m_h5``. Experiment runs stay in MLflow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from tickcast.extras import import_extra
from tickcast.model_bundle.bundle import find_bundle
from tickcast.registry.base import ModelToRegister, VersionSummary
from tickcast.model_bundle.servable import ServableModel
from tickcast.registry.champion_history import ChampionChange

if TYPE_CHECKING:
    from tickcast.registry.settings import RegistrySettings

log = structlog.get_logger(__name__)

TAG = "tickcast"
CHAMPION_KEY = "champion"
CHALLENGER_KEY = "challenger"


def hopsworks_name(name: str) -> str:
    return name.replace("-", "_")


class HopsworksRegistry:
    def __init__(self, model_registry: Any) -> None:
        """``model_registry`` is what ``hopsworks.login().get_model_registry()`` returns."""
        self._mr = model_registry

    @classmethod
    def from_settings(cls, settings: RegistrySettings) -> HopsworksRegistry:
        api_key = settings.hopsworks_api_key.get_secret_value() if settings.hopsworks_api_key else None
        return cls(_model_registry(settings.hopsworks_host, settings.hopsworks_port, settings.hopsworks_project, api_key))

    def register(self, name: str, model: ModelToRegister) -> str:
        metrics = {key: float(value) for key, value in model.metrics.items() if math.isfinite(value)}
        created = self._mr.python.create_model(
            name=hopsworks_name(name),
            metrics=metrics,
            description=f"{name}: {model.tags.get('kind', 'model')}, MLflow run {model.run_id or '-'}",
        )
        saved = created.save(str(model.bundle_dir)) or created
        version = str(saved.version)
        saved.add_tag(TAG, {**model.tags, "run_id": model.run_id or "", CHAMPION_KEY: False})
        log.info("model version registered in hopsworks", model=name, version=version)
        return version

    def champion_version(self, name: str) -> str | None:
        for found in self._all(name):
            if _tags(found).get(CHAMPION_KEY) is True:
                return str(found.version)
        return None

    def set_champion(self, name: str, version: str) -> None:
        target = self._get(name, version)
        # Flag the new champion first: a crash in between leaves two flags, never none.
        target.add_tag(TAG, {**_tags(target), CHAMPION_KEY: True})
        for found in self._all(name):
            if str(found.version) != version and _tags(found).get(CHAMPION_KEY) is True:
                found.add_tag(TAG, {**_tags(found), CHAMPION_KEY: False})

    def clear_champion(self, name: str) -> None:
        for found in self._all(name):
            if _tags(found).get(CHAMPION_KEY) is True:
                found.add_tag(TAG, {**_tags(found), CHAMPION_KEY: False})

    def champion_history(self, name: str) -> list[ChampionChange]:
        """Not recorded on Hopsworks: a flag in the version tags has no time of its own."""
        return []

    def challenger_versions(self, name: str) -> list[str]:
        return sorted((str(found.version) for found in self._all(name) if _tags(found).get(CHALLENGER_KEY) is True),
                      key=int)

    def add_challenger(self, name: str, version: str) -> None:
        target = self._get(name, version)
        target.add_tag(TAG, {**_tags(target), CHALLENGER_KEY: True})

    def remove_challenger(self, name: str, version: str) -> None:
        target = self._get(name, version)
        if _tags(target).get(CHALLENGER_KEY) is True:
            target.add_tag(TAG, {**_tags(target), CHALLENGER_KEY: False})

    def tag_version(self, name: str, version: str, tags: Mapping[str, str]) -> None:
        target = self._get(name, version)
        target.add_tag(TAG, {**_tags(target), **tags})

    def load(self, name: str, version: str) -> ServableModel:
        found = self._get(name, version)
        bundle_dir = find_bundle(Path(found.download()))
        return ServableModel.from_bundle(bundle_dir, name, version, dict(found.training_metrics or {}))

    def versions(self, name: str) -> list[VersionSummary]:
        summaries = []
        for found in self._all(name):
            tags = _tags(found)
            summaries.append(
                VersionSummary(
                    version=str(found.version),
                    is_champion=tags.get(CHAMPION_KEY) is True,
                    metrics={key: float(value) for key, value in (found.training_metrics or {}).items()},
                    tags={key: str(value) for key, value in tags.items() if key not in (CHAMPION_KEY, CHALLENGER_KEY)},
                    created_ms=int(getattr(found, "created", 0) or 0),
                )
            )
        return sorted(summaries, key=lambda summary: int(summary.version))

    def _all(self, name: str) -> list[Any]:
        return list(self._mr.get_models(hopsworks_name(name)) or [])

    def _get(self, name: str, version: str) -> Any:
        found = self._mr.get_model(hopsworks_name(name), version=int(version))
        if found is None:
            raise LookupError(f"{name} has no version {version} in the Hopsworks model registry")
        return found


@lru_cache(maxsize=4)
def _model_registry(host: str | None, port: int, project: str | None, api_key: str | None) -> Any:
    """One login per process and cluster: ``champion_version`` is polled, logging in is not cheap."""
    # Imported here: only deployments that use Hopsworks pay for it (and install tickcast[hopsworks]).
    hopsworks = import_extra("hopsworks", "hopsworks", "MODEL_REGISTRY=hopsworks")
    logged_in = hopsworks.login(host=host, port=port, project=project, api_key_value=api_key)
    return logged_in.get_model_registry()


def _tags(model: Any) -> dict[str, Any]:
    value = model.get_tag(TAG)
    return dict(value) if isinstance(value, dict) else {}
