"""What a servable model looks like, and the persistence baseline served until a champion exists.

``Servable`` is the structural shape of ``tickcast.serving.ServableModel``: any
object with these attributes and ``predict`` can be served, which keeps this
service independent of how training builds its models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

BASELINE_NAME = "persistence-baseline"
BASELINE_VERSION = "baseline"


class Servable(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def feature_names(self) -> list[str]: ...
    @property
    def feature_set_version(self) -> str: ...
    @property
    def interval(self) -> str: ...
    @property
    def horizon(self) -> int: ...
    @property
    def lag_window(self) -> int: ...

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """(n, lag_window, n_features) -> (n,) predicted log return."""
        ...


@dataclass(frozen=True)
class PersistenceBaseline:
    """Tomorrow's price is today's: a predicted log return of exactly zero.

    It needs no features, so it accepts any feature set; predictions carry
    ``BASELINE_NAME``/``BASELINE_VERSION`` so nobody mistakes them for a model's.
    """

    interval: str
    horizon: int
    name: str = BASELINE_NAME
    version: str = BASELINE_VERSION
    feature_names: list[str] = field(default_factory=list)
    feature_set_version: str = "any"
    lag_window: int = 1

    def predict(self, windows: np.ndarray) -> np.ndarray:
        return np.zeros(len(windows), dtype=np.float64)


def is_baseline(model: Servable) -> bool:
    return model.name == BASELINE_NAME


@dataclass(frozen=True)
class ServedModel:
    """A model as served: the model plus what the registry said about it."""

    model: Servable
    loaded_at_ms: int
    offline_metrics: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.model.name} v{self.model.version}"
