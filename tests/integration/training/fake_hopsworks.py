"""An in-memory stand-in for the ``hopsworks`` client at its boundary: login -> project ->
model registry -> models, with the calls and behaviour our adapter relies on (versions
numbered from 1, files copied on save and returned on download, JSON tags, name rules).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from hopsworks_common.util import _validate_metrics, _validate_model_name


class FakeModel:
    def __init__(self, registry: FakeModelRegistry, name: str, metrics: dict[str, float], description: str) -> None:
        self._registry = registry
        self.name = name
        self.version: int | None = None
        self.training_metrics = metrics
        self.description = description
        self.created = 0
        self._tags: dict[str, Any] = {}

    def save(self, model_path: str) -> FakeModel:
        _validate_model_name(self.name)
        _validate_metrics(self.training_metrics)
        self.version = len(self._registry.models.get(self.name, [])) + 1
        shutil.copytree(model_path, self._registry.storage / self.name / str(self.version))
        self._registry.models.setdefault(self.name, []).append(self)
        return self

    def download(self, local_path: str | None = None) -> str:
        return str(self._registry.storage / self.name / str(self.version))

    def add_tag(self, name: str, value: Any) -> None:
        self._tags[name] = value

    def get_tag(self, name: str) -> Any | None:
        return self._tags.get(name)


class _PythonModels:
    def __init__(self, registry: FakeModelRegistry) -> None:
        self._registry = registry

    def create_model(self, name: str, metrics: dict[str, float] | None = None, description: str = "",
                     **_: Any) -> FakeModel:
        return FakeModel(self._registry, name, dict(metrics or {}), description)


class FakeModelRegistry:
    def __init__(self, storage: Path) -> None:
        self.storage = storage
        self.models: dict[str, list[FakeModel]] = {}
        self.python = _PythonModels(self)

    def get_model(self, name: str, version: int | None = None) -> FakeModel | None:
        versions = self.models.get(name, [])
        return versions[(version or 1) - 1] if 0 < (version or 1) <= len(versions) else None

    def get_models(self, name: str) -> list[FakeModel]:
        return list(self.models.get(name, []))


class FakeProject:
    def __init__(self, storage: Path) -> None:
        self.model_registry = FakeModelRegistry(storage)
        self.logins: list[dict[str, Any]] = []

    def login(self, **kwargs: Any) -> FakeProject:
        self.logins.append(kwargs)
        return self

    def get_model_registry(self) -> FakeModelRegistry:
        return self.model_registry
