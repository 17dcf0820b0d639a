"""Following the registry's ``champion`` alias: load off the hot path, hand over between batches.

A background thread polls the (cheap) champion version every few seconds; when
it moved, the thread loads the new model itself and leaves it in a one-slot
mailbox. The consume loop takes it from there between two batches, so a batch
is always served by one model and no message is lost or served twice.
"""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np
import structlog

from tickcast import serving
from tickcast.registry import make_registry
from tickcast.registry.base import ModelRegistry
from tickcast.registry.settings import RegistrySettings

from inference import metrics
from inference.registry_watch import RegistryWatcher
from inference.model import Servable, ServedModel

log = structlog.get_logger(__name__)

# Two sizes: a traced graph then generalises over the batch dimension instead of retracing.
WARM_UP_BATCH_SIZES = (1, 32)


class ChampionSource(Protocol):
    """Where champions come from (the model registry, or anything shaped like it)."""

    model_name: str

    def champion_version(self) -> str | None: ...

    def load_champion(self) -> Servable | None: ...


class RegistryChampions:
    """``tickcast.serving`` over the configured registry (MLflow by default).

    Registry settings come from the environment read by ``tickcast.registry.settings.RegistrySettings``
    (``MODEL_REGISTRY``, ``MLFLOW_TRACKING_URI``, ``TICKCAST_HOME``...).
    """

    def __init__(self, model_name: str, registry: RegistrySettings | None = None) -> None:
        self.model_name = model_name
        self._settings = registry or RegistrySettings()

    def champion_version(self) -> str | None:
        return serving.champion_version(self._settings, self.model_name)

    def load_champion(self) -> Servable | None:
        # Keras (~10 s to import) is loaded by training only here, with the first model.
        return serving.load_champion(self._settings, self.model_name)

    def challenger_versions(self) -> list[str]:
        return serving.challenger_versions(self._settings, self.model_name)

    def load_version(self, version: str) -> Servable:
        return serving.load_version(self._settings, self.model_name, version)

    def registry(self) -> ModelRegistry:
        """The registry itself: live promotion moves its champion alias and tags its versions."""
        return make_registry(self._settings)


def served(model: Servable) -> ServedModel:
    offline = getattr(model, "offline_metrics", None) or {}
    return ServedModel(model, int(time.time() * 1000), {name: float(value) for name, value in offline.items()})


def warm_up(model: Servable) -> None:
    """Predict on blank windows of two batch sizes, so graph tracing happens here, not on the first batch."""
    for batch_size in WARM_UP_BATCH_SIZES:
        model.predict(np.zeros((batch_size, model.lag_window, len(model.feature_names)), dtype=np.float32))


def incompatibility(model: Servable, interval: str, horizon: int) -> str | None:
    """Why this service (of ``interval`` and ``horizon``) cannot serve ``model``; None if it can."""
    if model.interval != interval:
        return f"model interval {model.interval!r}, this service serves {interval!r}"
    if model.horizon != horizon:
        return f"model horizon {model.horizon}, this service serves {horizon}"
    if model.lag_window < 1 or not model.feature_names:
        return "model has no feature names or a lag window under 1"
    return None


class ChampionWatcher(RegistryWatcher[ServedModel]):
    following = "champion"

    def __init__(self, source: ChampionSource, interval: str, horizon: int, poll_seconds: float) -> None:
        super().__init__(poll_seconds)
        self._source = source
        self._interval = interval
        self._horizon = horizon
        self._known_version: str | None = None  # served, waiting in the mailbox, or refused

    def load_now(self) -> ServedModel | None:
        """The current champion, loaded in the caller's thread (start-up); None if there is none."""
        self.check()
        return self.take_ready()

    def check(self) -> None:
        """Load the champion if its version moved; remember refused versions so they are not retried."""
        version = self._source.champion_version()
        if version is None or version == self._known_version:
            return
        log.info("champion moved, loading", model=self._source.model_name, version=version)
        model = self._source.load_champion()
        if model is None:
            return
        self._known_version = model.version
        problem = self._incompatibility(model)
        if problem:
            metrics.LOAD_FAILURES.inc()
            log.error("champion refused", model=model.name, version=model.version, reason=problem)
            return
        warm_up(model)
        self._hand_over(served(model))
        log.info("champion loaded", model=model.name, version=model.version,
                 feature_set_version=model.feature_set_version, lag_window=model.lag_window)

    def _incompatibility(self, model: Servable) -> str | None:
        return incompatibility(model, self._interval, self._horizon)
