"""The served set: for each horizon, one forecaster per target (distribution, volatility,
probability), each either a learned model that passed its gate or the best baseline, labelled.

Serialised as one JSON document, so what training registers is exactly what inference loads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tickcast.forecast.history import LONGEST_WINDOW, History
from tickcast.forecast.quantiles import monotone
from tickcast.forecast.registry import forecaster_from_json

FORMAT = "tickcast-forecaster-set/1"
TARGETS = ("distribution", "volatility", "probability")
FILE_NAME = "forecaster_set.json"
# Closes a symbol needs before it can be forecast: a day of returns plus the close before them.
HISTORY_CLOSES = LONGEST_WINDOW + 1


@dataclass(frozen=True)
class ServedForecaster:
    target: str
    horizon: int
    is_model: bool  # False: a baseline, served because no model beat it
    forecaster: Any

    @property
    def kind(self) -> str:
        return str(self.forecaster.kind)

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "horizon": self.horizon, "is_model": self.is_model,
                "forecaster": self.forecaster.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServedForecaster:
        return cls(str(data["target"]), int(data["horizon"]), bool(data["is_model"]),
                   forecaster_from_json(data["forecaster"]))


@dataclass(frozen=True)
class HorizonForecast:
    horizon: int
    quantiles: np.ndarray  # (rows, len(LEVELS)) of the horizon log return, monotone
    p_up: np.ndarray
    p_down: np.ndarray
    volatility: np.ndarray  # forecast realized volatility over the horizon


@dataclass
class ForecasterSet:
    interval: str
    interval_ms: int
    dead_band: float
    served: dict[int, dict[str, ServedForecaster]]
    name: str = "forecasters"
    version: str = "0"
    info: dict[str, Any] = field(default_factory=dict)  # gate numbers, data period: for /models and reports
    # Every baseline fitted with the set, by horizon, target and kind: what a later period is scored against.
    baselines: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @property
    def horizons(self) -> list[int]:
        return sorted(self.served)

    def label(self, horizon: int, target: str) -> str:
        """Who serves ``target`` at ``horizon``: ``<set> v<version> <kind>`` or ``baseline <kind>``."""
        chosen = self.served[horizon][target]
        return f"{self.name} v{self.version} {chosen.kind}" if chosen.is_model else f"baseline {chosen.kind}"

    def forecast(self, history: History) -> dict[int, HorizonForecast]:
        """Every horizon's forecasts for every row of ``history`` (one call per forecaster, all rows at once)."""
        out = {}
        for horizon in self.horizons:
            chosen = self.served[horizon]
            quantiles = monotone(chosen["distribution"].forecaster.quantiles_for(history))
            probabilities = chosen["probability"].forecaster.probabilities_for(history)
            variance = chosen["volatility"].forecaster.variance(history)
            out[horizon] = HorizonForecast(horizon, quantiles, probabilities[:, 0], probabilities[:, 1],
                                           np.sqrt(horizon * variance))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "interval": self.interval, "interval_ms": self.interval_ms, "dead_band": self.dead_band,
            "name": self.name, "info": self.info,
            "served": {str(h): {t: s.to_json() for t, s in targets.items()} for h, targets in self.served.items()},
            "baselines": {str(h): {t: {k: f.to_json() for k, f in kinds.items()} for t, kinds in targets.items()}
                          for h, targets in self.baselines.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], version: str = "0") -> ForecasterSet:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a forecaster set ({data.get('format')!r}, expected {FORMAT!r})")
        served = {int(h): {t: ServedForecaster.from_json(s) for t, s in targets.items()}
                  for h, targets in data["served"].items()}
        baselines = {int(h): {t: {k: forecaster_from_json(f) for k, f in kinds.items()} for t, kinds in targets.items()}
                     for h, targets in data.get("baselines", {}).items()}
        return cls(str(data["interval"]), int(data["interval_ms"]), float(data["dead_band"]), served,
                   str(data.get("name", "forecasters")), version, dict(data.get("info", {})), baselines)

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / FILE_NAME
        path.write_text(json.dumps(self.to_json(), indent=1))
        return path

    @classmethod
    def load(cls, path: Path, version: str = "0") -> ForecasterSet:
        if path.is_dir():
            path = path / FILE_NAME
        return cls.from_json(json.loads(path.read_text()), version)
