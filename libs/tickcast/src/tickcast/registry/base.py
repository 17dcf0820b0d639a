"""The model registry seen by training and inference: one small interface, two adapters.

Experiment tracking (runs, parameters, plots) is always MLflow; only where model
versions live and which one is ``champion`` depends on the registry backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from tickcast.model_bundle.servable import ServableModel
from tickcast.registry.champion_history import ChampionChange

# The registry alias (MLflow) or tag flag (Hopsworks) naming the version inference serves.
CHAMPION_ALIAS = "champion"
# Versions served beside the champion, in shadow: MLflow alias ``challenger-<version>`` (one per version,
# since an MLflow alias names one version), a flag in the version's tag on Hopsworks.
CHALLENGER_ALIAS_PREFIX = "challenger-"


def challenger_alias(version: str) -> str:
    return f"{CHALLENGER_ALIAS_PREFIX}{version}"


@dataclass(frozen=True)
class VersionSummary:
    """One registered version as ``compare`` shows it."""

    version: str
    is_champion: bool
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    created_ms: int = 0


@dataclass(frozen=True)
class ModelToRegister:
    """A bundle folder plus what the registry records with it."""

    bundle_dir: Path
    metrics: Mapping[str, float]
    tags: Mapping[str, str]
    input_example: np.ndarray  # a few raw windows (n, lag_window, n_features)
    run_id: str | None = None  # the MLflow run that trained and evaluated it


@runtime_checkable
class ModelRegistry(Protocol):
    def register(self, name: str, model: ModelToRegister) -> str:
        """Store a new version of ``name``; returns its version."""
        ...

    def champion_version(self, name: str) -> str | None:
        """Version holding the champion alias, None if none (or no such model)."""
        ...

    def set_champion(self, name: str, version: str) -> None:
        """Move the champion alias to ``version``."""
        ...

    def clear_champion(self, name: str) -> None:
        """Leave ``name`` without a champion."""
        ...

    def champion_history(self, name: str) -> list[ChampionChange]:
        """Every recorded move of the champion, oldest first; empty when none was recorded."""
        ...

    def challenger_versions(self, name: str) -> list[str]:
        """Versions marked as challengers, ascending; empty if none (or no such model)."""
        ...

    def add_challenger(self, name: str, version: str) -> None:
        """Mark ``version`` as a challenger (LookupError if there is no such version)."""
        ...

    def remove_challenger(self, name: str, version: str) -> None:
        """Unmark ``version``; nothing happens if it was not a challenger."""
        ...

    def tag_version(self, name: str, version: str, tags: Mapping[str, str]) -> None: ...

    def load(self, name: str, version: str) -> ServableModel: ...

    def versions(self, name: str) -> list[VersionSummary]:
        """Every version of ``name``, oldest first."""
        ...
