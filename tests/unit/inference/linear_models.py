"""Small real models and a real in-memory champion registry, for testing inference without MLflow.

``LinearModel`` computes an actual function of its inputs (a weighted mean of one
feature over its lag window plus a bias), so a test can check each prediction
against the inputs and tell which model version made it.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import numpy as np

from tickcast.contracts import Candle, FeatureVector

BASE_MS = 1_704_067_200_000  # 2024-01-01T00:00Z, on every interval grid
MINUTE_MS = 60_000


@dataclass(frozen=True)
class LinearModel:
    name: str
    version: str
    weight: float
    bias: float = 0.0
    feature_names: list[str] = field(default_factory=lambda: ["ret_1", "vol_5"])
    feature_set_version: str = "fs-a"
    interval: str = "1m"
    horizon: int = 5
    lag_window: int = 1
    calls: list[int] = field(default_factory=list, compare=False, repr=False)  # rows per predict call

    def predict(self, windows: np.ndarray) -> np.ndarray:
        assert windows.shape[1:] == (self.lag_window, len(self.feature_names)), windows.shape
        self.calls.append(len(windows))
        return self.weight * windows[:, :, 0].mean(axis=1) + self.bias

    def expected(self, ret_1_window: list[float]) -> float:
        return self.weight * float(np.mean(np.asarray(ret_1_window, dtype=np.float32))) + self.bias


class InMemoryChampions:
    """A registry holding versions of one model name and a movable champion alias."""

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name
        self._lock = threading.Lock()
        self._versions: dict[str, LinearModel] = {}
        self._champion: str | None = None
        self.loads = 0

    def register(self, model: LinearModel) -> None:
        with self._lock:
            self._versions[model.version] = model

    def set_champion(self, version: str) -> None:
        with self._lock:
            self._champion = version

    def champion_version(self) -> str | None:
        with self._lock:
            return self._champion

    def load_champion(self) -> LinearModel | None:
        with self._lock:
            self.loads += 1
            return self._versions.get(self._champion) if self._champion else None


def vector(symbol: str, step: int, ret_1: float = 0.001, close: float = 100.0, fs: str = "fs-a",
           interval_ms: int = MINUTE_MS, interval: str = "1m") -> FeatureVector:
    return FeatureVector(
        symbol=symbol,
        interval=interval,
        timestamp_ms=BASE_MS + step * interval_ms,
        feature_set_version=fs,
        values={"ret_1": ret_1, "vol_5": 0.01},
        close=close,
    )


def ret_for(symbol: str, step: int) -> float:
    """A deterministic, symbol- and step-dependent feature value."""
    return round(math.sin(step * 0.7 + len(symbol)) * 0.002, 6)


def candle(symbol: str, step: int, close: float) -> Candle:
    open_time = BASE_MS + step * MINUTE_MS
    return Candle(symbol=symbol, interval="1m", open_time_ms=open_time, close_time_ms=open_time + MINUTE_MS - 1,
                  open=close, high=close, low=close, close=close, volume=1.0, quote_volume=close,
                  trade_count=1, taker_buy_base_volume=0.5, taker_buy_quote_volume=close / 2, vwap=close)


class InMemoryChallengers(InMemoryChampions):
    """The same registry with challenger marks, as ``inference.challengers.ChallengerSource``."""

    def __init__(self, model_name: str) -> None:
        super().__init__(model_name)
        self._challengers: set[str] = set()

    def add_challenger(self, version: str) -> None:
        with self._lock:
            self._challengers.add(version)

    def remove_challenger(self, version: str) -> None:
        with self._lock:
            self._challengers.discard(version)

    def challenger_versions(self) -> list[str]:
        with self._lock:
            return sorted(self._challengers, key=int)

    def load_version(self, version: str) -> LinearModel:
        with self._lock:
            self.loads += 1
            return self._versions[version]
