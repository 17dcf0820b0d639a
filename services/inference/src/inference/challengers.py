"""Shadow challengers: registered versions a user marked as challengers, served beside the champion.

Each challenger predicts every vector the champion predicts, with its own lag windows, and its
predictions (tagged with its model name and version) are published to ``predictions.challengers``
in the batch's transaction. Nothing a challenger does changes the champion's output: a vector a
challenger cannot predict is counted and skipped, never dead-lettered (the champion decides that),
and a challenger whose window is not full yet publishes nothing rather than the baseline.

The set follows the registry like the champion does: a background thread polls the (cheap) list of
challenger versions, loads new ones off the hot path and leaves the whole new set in a one-slot
mailbox; the consume loop takes it between two batches.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import structlog

from tickcast.contracts import FeatureVector, Prediction
from tickcast.rate_limited_log import RateLimitedLog

from inference import metrics
from inference.champion import incompatibility, served, warm_up
from inference.forecasting import Forecaster
from inference.model import BASELINE_NAME, PersistenceBaseline, Servable, ServedModel
from inference.registry_watch import RegistryWatcher

log = structlog.get_logger(__name__)
REFUSED_LOG = RateLimitedLog(log, "vectors a challenger could not predict")


@runtime_checkable
class ChallengerSource(Protocol):
    """Where challengers come from: the registry's challenger marks for the served model name."""

    model_name: str

    def challenger_versions(self) -> list[str]: ...

    def load_version(self, version: str) -> Servable: ...


class ChallengerWatcher(RegistryWatcher[dict[str, ServedModel]]):
    following = "challenger"

    def __init__(self, source: ChallengerSource, interval: str, horizon: int, poll_seconds: float) -> None:
        super().__init__(poll_seconds)
        self._source = source
        self._interval = interval
        self._horizon = horizon
        self._loaded: dict[str, ServedModel] = {}  # the set last handed over (or about to be)
        self._refused: set[str] = set()  # versions that cannot be served here: not loaded again

    def check(self) -> None:
        wanted = [v for v in self._source.challenger_versions() if v not in self._refused]
        if set(wanted) == set(self._loaded):
            return
        loaded = {version: model for version, model in self._loaded.items() if version in wanted}
        for version in wanted:
            if version in loaded:
                continue
            model = self._source.load_version(version)
            problem = incompatibility(model, self._interval, self._horizon)
            if problem:
                self._refused.add(version)
                metrics.LOAD_FAILURES.inc()
                log.error("challenger refused", model=model.name, version=version, reason=problem)
                continue
            warm_up(model)
            loaded[version] = served(model)
            log.info("challenger loaded", model=model.name, version=version, lag_window=model.lag_window)
        removed = sorted(set(self._loaded) - set(loaded))
        if removed:
            log.info("challengers removed", model=self._source.model_name, versions=removed)
        self._loaded = loaded
        self._hand_over(dict(loaded))


class Challengers:
    """The challengers served now, one forecaster (and lag windows) each; empty without a source."""

    def __init__(self, source: object, baseline: PersistenceBaseline, dead_band: float, poll_seconds: float) -> None:
        self._baseline = baseline
        self._dead_band = dead_band
        self._watcher = (ChallengerWatcher(source, baseline.interval, baseline.horizon, poll_seconds)
                         if isinstance(source, ChallengerSource) else None)
        self._forecasters: dict[str, Forecaster] = {}

    @property
    def labels(self) -> list[str]:
        return [forecaster.served.label for forecaster in self._forecasters.values()]

    @property
    def keys(self) -> list[tuple[str, str]]:
        """(model name, version) of each challenger served now."""
        return [(f.served.model.name, f.served.model.version) for f in self._forecasters.values()]

    @property
    def lag_window(self) -> int:
        """The longest lag window served (0 with no challengers): what a restore must refill."""
        return max((f.served.model.lag_window for f in self._forecasters.values()), default=0)

    def start(self) -> None:
        """Load the current challengers in the caller's thread, then follow the registry in the background."""
        if self._watcher is None:
            return
        try:
            self._watcher.check()
        except Exception:  # noqa: BLE001 - the champion is served whatever happens to challengers
            metrics.LOAD_FAILURES.inc()
            log.exception("challengers not loaded at start; tried again in the background")
        self.swap_if_ready()
        self._watcher.start()

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()

    def swap_if_ready(self) -> None:
        ready = self._watcher.take_ready() if self._watcher is not None else None
        if ready is None:
            return
        kept = {v: f for v, f in self._forecasters.items() if v in ready}
        for version, model in ready.items():
            if version not in kept:
                kept[version] = Forecaster(model, self._baseline, self._dead_band)
        self._forecasters = dict(sorted(kept.items(), key=lambda item: int(item[0]) if item[0].isdigit() else 0))
        metrics.CHALLENGERS.set(len(self._forecasters))
        log.info("challengers served", challengers=self.labels)

    def push(self, vector: FeatureVector) -> None:
        """A vector read back on restore: into every challenger's window."""
        for forecaster in self._forecasters.values():
            forecaster.windows.push(vector)

    def forget(self, symbols: set[str]) -> None:
        for forecaster in self._forecasters.values():
            forecaster.windows.forget(symbols)

    def forecast(self, vectors: list[FeatureVector], now_ms: int, champion: Servable) -> list[Prediction]:
        """Every challenger's predictions for ``vectors`` (the champion's own version skipped)."""
        REFUSED_LOG.flush()
        predictions: list[Prediction] = []
        for forecaster in self._forecasters.values():
            model = forecaster.served.model
            if model.name == champion.name and model.version == champion.version:
                continue  # a challenger promoted to champion is served once, as the champion
            batch = forecaster.forecast(vectors, now_ms)
            predictions += [f.prediction for f in batch.forecasts if not is_baseline_prediction(f.prediction)]
            for refusal in batch.refusals:
                metrics.CHALLENGER_REFUSED.labels(model.version, refusal.error_type).inc()
                REFUSED_LOG.record(f"{model.version}:{refusal.error_type}", model=model.name,
                                   version=model.version, reason=refusal.reason)
        return predictions


def is_baseline_prediction(prediction: Prediction) -> bool:
    """Made by the persistence baseline (a challenger's window not full yet): not the challenger's."""
    return prediction.model_name == BASELINE_NAME
