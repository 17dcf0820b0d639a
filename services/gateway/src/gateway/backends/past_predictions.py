"""A prediction at a chosen past moment: features as of then, the model chosen for then, the outcome.

Blocking work (parquet reads, kline files, model loading and prediction): the route runs
:meth:`PastPredictions.predict_at` in a worker thread. Models, the registry client and the
offline store are made on first use, so a gateway that is never asked for the past never
imports TensorFlow, MLflow or DuckDB. Loaded models are kept (a few, least recently used).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tickcast.contracts import MIN_EPOCH_MS, DataSource, Prediction
from tickcast.directions import direction_of
from tickcast.intervals import interval_ms, last_closed_open_ms

if TYPE_CHECKING:
    import pandas as pd

    from tickcast.model_bundle.servable import ServableModel

_PERIOD = re.compile(r"-(\d{4}-\d{2}(?:-\d{2})?)\.(?:zip|csv)$")

FeatureOrigin = Literal["offline_store", "kline_files"]
ModelChoice = Literal["requested", "champion_at_time", "current_champion"]


class PastPredictionError(Exception):
    """A request that cannot be answered, with the HTTP status that says why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class FeatureWindow:
    rows: pd.DataFrame  # lag_window consecutive feature rows, oldest first
    origin: FeatureOrigin
    source: DataSource


@dataclass(frozen=True)
class ChosenModel:
    model: ServableModel
    choice: ModelChoice
    note: str


@dataclass(frozen=True)
class PastPrediction:
    time_ms: int
    window: FeatureWindow
    chosen: ChosenModel
    prediction: Prediction
    realised_close: float | None


@dataclass(frozen=True)
class PastPredictionSettings:
    interval: str
    model_name: str | None  # the served model for the default horizon; None: named from symbols and horizon
    default_horizon: int
    model_symbols: tuple[str, ...]
    klines_dir: Path | None
    model_cache_size: int = 4


class PastPredictions:
    def __init__(self, settings: PastPredictionSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._models: OrderedDict[tuple[str, str], ServableModel] = OrderedDict()
        self._registry: Any = None
        self._offline: Any = None

    # --- the request ------------------------------------------------------------------------

    def predict_at(
        self, symbol: str, time_ms: int, model: str | None, horizon: int | None, now_ms: int | None = None
    ) -> PastPrediction:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        if time_ms < MIN_EPOCH_MS:
            raise PastPredictionError(404, f"time {_iso(time_ms)} is before the data of any symbol")
        if time_ms > now_ms:
            raise PastPredictionError(404, f"no data yet: time {_iso(time_ms)} is in the future (now {_iso(now_ms)})")
        interval = self._settings.interval
        as_of_ms = last_closed_open_ms(time_ms, interval)
        chosen = self._choose_model(model, horizon, time_ms)
        served = chosen.model
        if served.interval != interval:
            raise PastPredictionError(
                422, f"{served.name} v{served.version} serves {served.interval} candles, not {interval}"
            )
        window = self._features(symbol, as_of_ms, served.lag_window, served.feature_set_version)
        prediction = _prediction(symbol, interval, served, window, now_ms)
        realised = self._realised_close(symbol, prediction.target_time_ms, now_ms, window.origin)
        return PastPrediction(time_ms, window, chosen, prediction, realised)

    # --- the model --------------------------------------------------------------------------

    def _choose_model(self, model: str | None, horizon: int | None, time_ms: int) -> ChosenModel:
        name, version = self._model_reference(model, horizon)
        registry = self._registry_client()
        if version is not None:
            return ChosenModel(self._load(name, version), "requested", f"version {version} was asked for")
        from tickcast.registry.champion_history import champion_at

        change = champion_at(registry.champion_history(name), time_ms)
        if change is not None and change.version is not None:
            return ChosenModel(
                self._load(name, change.version), "champion_at_time", f"champion since {_iso(change.at_ms)}"
            )
        current = registry.champion_version(name)
        if current is None:
            known = [summary.version for summary in registry.versions(name)]
            if not known:
                raise PastPredictionError(
                    404, f"unknown model {name!r}: nothing is registered under that name"
                )
            raise PastPredictionError(
                404, f"{name} has no champion; ask for one of its versions with model= ({', '.join(known)})"
            )
        why = (
            "no champion was recorded at that time"
            if change is not None
            else "the registry holds no champion history for that time"
        )
        return ChosenModel(
            self._load(name, current), "current_champion", f"{why}: the current champion answers"
        )

    def _model_reference(self, model: str | None, horizon: int | None) -> tuple[str, str | None]:
        """``model=``: a version of the default model (``3``), a model's champion (``name``) or a
        version of a named model (``name:3``)."""
        horizon = horizon or self._settings.default_horizon
        if self._settings.model_name and horizon == self._settings.default_horizon:
            default_name = self._settings.model_name
        else:
            from tickcast.serving import registered_model_name

            default_name = registered_model_name(
                self._settings.model_symbols, self._settings.interval, horizon
            )
        if model is None or not model.strip():
            return default_name, None
        model = model.strip()
        if model.isdigit():
            return default_name, model
        name, _, version = model.partition(":")
        if version and not version.isdigit():
            raise PastPredictionError(422, f"model={model!r}: expected VERSION, NAME or NAME:VERSION")
        return name, version or None

    def _load(self, name: str, version: str) -> ServableModel:
        key = (name, version)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
        loaded = self._load_from_registry(name, version)
        with self._lock:
            self._models[key] = loaded
            while len(self._models) > self._settings.model_cache_size:
                self._models.popitem(last=False)
        return loaded

    def _load_from_registry(self, name: str, version: str) -> ServableModel:
        registry = self._registry_client()
        known = [summary.version for summary in registry.versions(name)]
        if not known:
            raise PastPredictionError(404, f"unknown model {name!r}: nothing is registered under that name")
        if version not in known:
            raise PastPredictionError(404, f"{name} has no version {version}; it has {', '.join(known)}")
        return registry.load(name, version)

    def _registry_client(self) -> Any:
        with self._lock:
            if self._registry is None:
                from tickcast.registry import make_registry
                from tickcast.registry.settings import RegistrySettings

                settings = RegistrySettings()
                database = _sqlite_file(settings.tracking_uri()) if settings.backend == "mlflow" else None
                if database is not None and not database.exists():
                    # A reader never creates the registry (MLflow would, with an empty schema).
                    raise PastPredictionError(
                        404, "no model is registered yet: the model registry does not exist"
                    )
                self._registry = make_registry(settings)
            return self._registry

    # --- the features -----------------------------------------------------------------------

    def _features(
        self, symbol: str, as_of_ms: int, lag_window: int, feature_set_version: str
    ) -> FeatureWindow:
        # The feature code (TA-Lib, pandas) is imported with the first request that needs it.
        from tickcast.features.as_of import features_from_candles, rebuild_start_ms, window_as_of

        interval = self._settings.interval
        span = interval_ms(interval)
        stored = self._offline_store().read(
            [symbol], interval, as_of_ms - (lag_window - 1) * span, as_of_ms + span
        )
        rows = window_as_of(stored, as_of_ms, interval, lag_window)
        if rows is not None and (rows["feature_set_version"] == feature_set_version).all():
            # The offline store keeps no price source; its rows come from the pipeline's candles.
            return FeatureWindow(rows, "offline_store", "unknown")
        candles = self._kline_candles(
            symbol, rebuild_start_ms(as_of_ms, interval, lag_window), as_of_ms + span
        )
        if not candles.empty:
            rows = window_as_of(features_from_candles(candles, as_of_ms), as_of_ms, interval, lag_window)
            if rows is not None:
                return self._checked(FeatureWindow(rows, "kline_files", "binance"), feature_set_version)
        raise self._missing(symbol, as_of_ms, lag_window)

    @staticmethod
    def _checked(window: FeatureWindow, feature_set_version: str) -> FeatureWindow:
        built = str(window.rows["feature_set_version"].iloc[-1])
        if built != feature_set_version:
            raise PastPredictionError(
                422, f"the model reads feature set {feature_set_version}, the feature code computes {built}"
            )
        return window

    def _missing(self, symbol: str, as_of_ms: int, lag_window: int) -> PastPredictionError:
        spans = [span for span in (self._stored_span(symbol), self._kline_span(symbol)) if span is not None]
        if not spans:
            return PastPredictionError(
                404,
                f"unknown symbol {symbol!r}: no {self._settings.interval} features in the offline store "
                f"and no kline files{'' if self._settings.klines_dir else ' (GATEWAY_KLINES_DIR is not set)'}",
            )
        first = min(span[0] for span in spans)
        if as_of_ms < first:
            return PastPredictionError(
                404, f"time is before the data of {symbol}: its first candle is {_iso(first)}"
            )
        return PastPredictionError(
            404,
            f"missing history for {symbol}: the {lag_window} candle(s) up to {_iso(as_of_ms)} and the 24 hours "
            "before them are neither in the offline store nor in the kline files",
        )

    def _offline_store(self) -> Any:
        with self._lock:
            if self._offline is None:
                from tickcast.store.settings import FeatureStoreSettings

                store_settings = FeatureStoreSettings()
                if store_settings.feature_store == "feast":
                    # The parquet parts only: reading them needs neither Feast nor its registry.
                    from tickcast.store.offline_log import OfflineLog, offline_root

                    self._offline = OfflineLog(offline_root(store_settings.feast_repo_path))
                else:
                    from tickcast.store import make_feature_store

                    self._offline = _StoreReader(make_feature_store(store_settings))
            return self._offline

    def _stored_span(self, symbol: str) -> tuple[int, int] | None:
        offline = self._offline_store()
        return offline.time_span(symbol, self._settings.interval) if hasattr(offline, "time_span") else None

    def _kline_candles(self, symbol: str, start_ms: int, end_ms: int) -> pd.DataFrame:
        from tickcast.binance_files.klines import find_kline_files, read_kline_files
        from tickcast.candle_frames import empty_candle_frame

        root = self._settings.klines_dir
        if root is None:
            return empty_candle_frame()
        files = find_kline_files(root, symbol, self._settings.interval, _day(start_ms), _day(end_ms - 1))
        if not files:
            return empty_candle_frame()
        candles = read_kline_files(files, symbol, self._settings.interval)
        times = candles["open_time_ms"].to_numpy("int64")
        return candles[(times >= start_ms) & (times < end_ms)].reset_index(drop=True)

    def _kline_span(self, symbol: str) -> tuple[int, int] | None:
        root = self._settings.klines_dir
        if root is None:
            return None
        from tickcast.binance_files.klines import find_kline_files

        files = find_kline_files(root, symbol, self._settings.interval, date.min, date.max)
        days = sorted(_file_first_day(path) for path in files)
        if not days:
            return None
        start = int(datetime.combine(days[0], datetime.min.time(), UTC).timestamp() * 1000)
        return start, start

    # --- the outcome ------------------------------------------------------------------------

    def _realised_close(
        self, symbol: str, target_ms: int, now_ms: int, origin: FeatureOrigin
    ) -> float | None:
        """Close of the candle the prediction is about, once it has closed; None otherwise."""
        span = interval_ms(self._settings.interval)
        if target_ms + span > now_ms:
            return None
        stored = self._offline_store().read([symbol], self._settings.interval, target_ms, target_ms + span)
        closes = stored["close"].dropna()
        if origin == "offline_store" and not closes.empty:
            return float(closes.iloc[-1])
        candles = self._kline_candles(symbol, target_ms, target_ms + span)
        if not candles.empty:
            return float(candles["close"].iloc[-1])
        return float(closes.iloc[-1]) if not closes.empty else None


class _StoreReader:
    """A :class:`tickcast.store.FeatureStore` seen through the offline log's ``read``."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def read(self, symbols: list[str], interval: str, start_ms: int, end_ms: int) -> pd.DataFrame:
        return self._store.read_offline(symbols, interval, start_ms, end_ms)


def _prediction(
    symbol: str, interval: str, model: ServableModel, window: FeatureWindow, now_ms: int
) -> Prediction:
    import numpy as np

    rows = window.rows
    # float32 as live inference hands them over, so both paths give a model the same inputs.
    inputs = rows[list(model.feature_names)].to_numpy(np.float32)[None, :, :]
    log_return = float(np.asarray(model.predict(inputs), dtype=np.float64).reshape(-1)[0])
    if not math.isfinite(log_return):
        raise PastPredictionError(
            422, f"{model.name} v{model.version} returned {log_return} for these features"
        )
    close = float(rows["close"].iloc[-1])
    as_of_ms = int(rows["timestamp_ms"].iloc[-1])
    return Prediction(
        symbol=symbol,
        interval=interval,
        model_name=model.name,
        model_version=model.version,
        horizon=model.horizon,
        as_of_ms=as_of_ms,
        target_time_ms=as_of_ms + model.horizon * interval_ms(interval),
        predicted_return=log_return,
        predicted_price=close * math.exp(log_return),
        direction=direction_of(log_return, model.dead_band),
        emitted_ms=now_ms,
        source=window.source,
    )


def _sqlite_file(uri: str) -> Path | None:
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def _day(epoch_ms: int) -> date:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).date()


def _file_first_day(path: Path) -> date:
    """``BTCUSDT-1m-2024-01-02.zip`` -> 2024-01-02; a monthly file -> the first of its month."""
    match = _PERIOD.search(path.name)
    assert match is not None  # find_kline_files returns only names of that form
    text = match[1]
    return date.fromisoformat(text if len(text) == 10 else text + "-01")


def _iso(epoch_ms: int) -> str:
    return (
        (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=epoch_ms))
        .isoformat()
        .replace("+00:00", "Z")
    )
