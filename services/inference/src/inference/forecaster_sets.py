"""Following the registered forecaster set (distribution, volatility, p_up per horizon).

The set is a small JSON document, so it is checked and loaded between two batches, at most every
``poll_seconds``: a batch is always served by one set.
"""

from __future__ import annotations

import time
from typing import Protocol

import structlog

from tickcast.forecast.forecaster_set import ForecasterSet

log = structlog.get_logger(__name__)


class ForecasterSetSource(Protocol):
    name: str

    def version(self) -> str | None: ...

    def load(self, version: str) -> ForecasterSet | None: ...


class RegistryForecasterSets:
    """The ``champion`` alias of the forecaster set in the MLflow registry training writes to."""

    def __init__(self, name: str, tracking_uri: str) -> None:
        self.name = name
        self._tracking_uri = tracking_uri

    def version(self) -> str | None:
        from tickcast.forecast.store import champion_set_version

        return champion_set_version(self._tracking_uri, self.name)

    def load(self, version: str) -> ForecasterSet | None:
        from tickcast.forecast.store import load_forecaster_set

        return load_forecaster_set(self._tracking_uri, self.name, version)


class ForecasterSetFollower:
    def __init__(self, source: ForecasterSetSource, interval: str, poll_seconds: float) -> None:
        self._source = source
        self._interval = interval
        self._poll_seconds = poll_seconds
        self._checked = -float("inf")
        self.current: ForecasterSet | None = None
        self.changed = False  # a new set was loaded since the caller last looked

    def refresh(self) -> ForecasterSet | None:
        """The set to serve now: a newer champion is loaded when the poll interval has passed."""
        now = time.monotonic()
        if now - self._checked < self._poll_seconds:
            return self.current
        self._checked = now
        try:
            version = self._source.version()
            if version is None or (self.current is not None and self.current.version == version):
                return self.current
            loaded = self._source.load(version)
        except Exception as error:  # the registry away must not stop point predictions
            log.warning("forecaster set not checked", name=self._source.name, error=repr(error))
            return self.current
        if loaded is not None and loaded.interval != self._interval:
            log.error("forecaster set refused: other interval", name=self._source.name, version=version,
                      interval=loaded.interval, served=self._interval)
            return self.current
        if loaded is not None:
            log.info("forecaster set loaded", name=self._source.name, version=version, horizons=loaded.horizons,
                     served={f"h{h}": {t: loaded.label(h, t) for t in ("distribution", "volatility", "probability")}
                             for h in loaded.horizons})
        self.current = loaded
        self.changed = loaded is not None
        return loaded


def summary(forecaster_set: ForecasterSet) -> dict[str, object]:
    """Who serves each target at each horizon, and the gate's reasons: what ``/models`` shows."""
    return {
        "name": forecaster_set.name,
        "version": forecaster_set.version,
        "horizons": forecaster_set.horizons,
        "served": {f"h{h}": {t: forecaster_set.label(h, t) for t in ("distribution", "volatility", "probability")}
                   for h in forecaster_set.horizons},
        "decisions": forecaster_set.info.get("decisions", []),
    }
