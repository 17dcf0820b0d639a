"""The live leaderboard: every served model and the persistence baseline, scored on the same matured predictions.

Pure logic, no I/O. Predictions of the champion and of each challenger for one (symbol, target
time) wait together; when the candle at the target time closes, they mature into one row holding
the realised log return and each model's predicted one. Persistence (a zero return) is in every
row. The standings are computed on the rows where every model served now has a prediction, so
each model's MAE, skill and hit rate are measured on the same symbols and target times.

A row is made once per (symbol, target time): replaying the topics after a restart, or reading a
prediction twice, never counts an outcome twice.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from tickcast import persistence_baseline
from tickcast.contracts import Prediction
from tickcast.hit_rate import hit_rate

from inference.model import BASELINE_NAME

Role = Literal["champion", "challenger", "baseline"]
ModelKey = tuple[str, str]  # (model_name, model_version)

# The persistence baseline's key in the standings: it needs no prediction, it is in every row.
PERSISTENCE: ModelKey = (persistence_baseline.NAME, persistence_baseline.VERSION)


def key_of(prediction: Prediction) -> ModelKey:
    return prediction.model_name, prediction.model_version


@dataclass
class MaturedRow:
    symbol: str
    target_time_ms: int
    realised: float  # log return from the close the predictions were made at to the target candle's close
    predicted: dict[ModelKey, float] = field(default_factory=dict)


@dataclass
class _Waiting:
    base_close: float
    predicted: dict[ModelKey, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Standing:
    """One model's live scores on the rows shared by every model served now."""

    model_name: str
    model_version: str
    role: Role
    count: int  # shared matured predictions scored
    mae: float  # mean |predicted - realised| log return
    persistence_mae: float  # the same for persistence on the same rows
    skill: float | None  # 1 - mae / persistence_mae; None while persistence is exact
    hit_rate: float
    hit_rate_low: float  # Wilson interval (95%)
    hit_rate_high: float
    last_target_time_ms: int

    @property
    def label(self) -> str:
        return self.model_name if self.role == "baseline" else f"{self.model_name} v{self.model_version}"


class Leaderboard:
    """The newest ``window`` matured rows of every symbol together (a window of rows, not of time)."""

    def __init__(self, window: int, max_pending_per_symbol: int, dead_band: float) -> None:
        self._window = window
        self._max_pending = max_pending_per_symbol
        self._dead_band = dead_band
        self._waiting: dict[str, OrderedDict[int, _Waiting]] = {}
        self._closes: dict[str, OrderedDict[int, float]] = {}
        self._rows: deque[MaturedRow] = deque()  # the newest ``window`` matured rows, all symbols
        self._by_target: dict[tuple[str, int], MaturedRow] = {}
        self._evicted_through: dict[str, int] = {}  # newest target time of a row that left the window
        self.matured_total = 0  # rows matured since start: a clock for decisions taken every N rows

    # ------------------------------------------------------------------ input

    def on_prediction(self, prediction: Prediction, base_close: float) -> None:
        """A champion's or challenger's prediction; the baseline's only opens the row (persistence is in all)."""
        symbol, target = prediction.symbol, prediction.target_time_ms
        if target <= self._evicted_through.get(symbol, -1):
            return  # scored already, and since gone from the window
        key = None if prediction.model_name == BASELINE_NAME else key_of(prediction)
        row = self._by_target.get((symbol, target))
        if row is not None:  # matured already: a late prediction joins its row
            if key is not None:
                row.predicted.setdefault(key, prediction.predicted_return)
            return
        closes = self._closes.get(symbol)
        close = closes.get(target) if closes else None
        waiting = self._waiting.setdefault(symbol, OrderedDict()).setdefault(target, _Waiting(base_close))
        if key is not None:
            waiting.predicted.setdefault(key, prediction.predicted_return)
        if close is not None:
            self._mature(symbol, target, close)
            return
        pending = self._waiting[symbol]
        while len(pending) > self._max_pending:
            pending.popitem(last=False)  # the oldest target: its candle is long overdue

    def on_candle(self, symbol: str, open_time_ms: int, close: float) -> None:
        closes = self._closes.setdefault(symbol, OrderedDict())
        closes[open_time_ms] = close
        while len(closes) > self._max_pending:
            closes.popitem(last=False)
        if open_time_ms in self._waiting.get(symbol, {}):
            self._mature(symbol, open_time_ms, close)

    def forget(self, symbols: set[str]) -> None:
        """Drop what waits on symbols this instance no longer owns (their matured rows stay scored)."""
        for symbol in symbols:
            self._waiting.pop(symbol, None)
            self._closes.pop(symbol, None)

    def _mature(self, symbol: str, target: int, close: float) -> None:
        waiting = self._waiting[symbol].pop(target)
        row = MaturedRow(symbol, target, math.log(close / waiting.base_close), waiting.predicted)
        self._rows.append(row)
        self._by_target[(symbol, target)] = row
        while len(self._rows) > self._window:
            gone = self._rows.popleft()
            del self._by_target[(gone.symbol, gone.target_time_ms)]
            self._evicted_through[gone.symbol] = max(self._evicted_through.get(gone.symbol, -1), gone.target_time_ms)
        self.matured_total += 1

    # ------------------------------------------------------------------ output

    def shared_rows(self, models: Iterable[ModelKey]) -> list[MaturedRow]:
        """Matured rows holding a prediction of every one of ``models``, in target-time order."""
        wanted = {m for m in models if m != PERSISTENCE}
        rows = [row for row in self._rows if wanted <= row.predicted.keys()]
        return sorted(rows, key=lambda row: (row.target_time_ms, row.symbol))

    def losses(self, model: ModelKey, rows: Sequence[MaturedRow]) -> np.ndarray:
        """Absolute errors of ``model`` on ``rows`` (each must hold its prediction)."""
        return np.abs(self._predictions([model], rows)[:, 0] - _realised(rows))

    def standings(self, champion: ModelKey | None, challengers: Sequence[ModelKey]) -> list[Standing]:
        """The served models and persistence on their shared rows, best MAE first; empty before any row."""
        served = ([champion] if champion is not None else []) + [c for c in challengers if c != champion]
        rows = self.shared_rows(served)
        if not rows:
            return []
        models: list[tuple[ModelKey, Role]] = [(m, "champion" if m == champion else "challenger") for m in served]
        models.append((PERSISTENCE, "baseline"))
        # Vectorised: the leaderboard runs in the consume loop, over tens of thousands of rows.
        predicted = self._predictions([model for model, _ in models], rows)
        realised = _realised(rows)
        maes = np.abs(predicted - realised[:, None]).mean(axis=0)
        hits = (_directions(predicted, self._dead_band) == _directions(realised, self._dead_band)[:, None]).sum(axis=0)
        persistence_mae = float(maes[-1])
        standings = []
        for (model, role), mae, hit_count in zip(models, maes, hits, strict=True):
            rate = hit_rate(int(hit_count), len(rows))
            assert rate is not None  # rows is not empty
            standings.append(Standing(
                model_name=model[0], model_version=model[1], role=role, count=len(rows), mae=float(mae),
                persistence_mae=persistence_mae, skill=1.0 - float(mae) / persistence_mae if persistence_mae > 0 else None,
                hit_rate=rate.rate, hit_rate_low=rate.low, hit_rate_high=rate.high,
                last_target_time_ms=rows[-1].target_time_ms,
            ))
        return sorted(standings, key=lambda s: (s.mae, s.role != "champion"))

    def _predictions(self, models: Sequence[ModelKey], rows: Sequence[MaturedRow]) -> np.ndarray:
        """(rows, models) predicted log returns."""
        return np.array([[self._predicted(model, row) for model in models] for row in rows],
                        dtype=np.float64).reshape(len(rows), len(models))

    @staticmethod
    def _predicted(model: ModelKey, row: MaturedRow) -> float:
        return persistence_baseline.PREDICTED_RETURN if model == PERSISTENCE else row.predicted[model]


def _realised(rows: Sequence[MaturedRow]) -> np.ndarray:
    return np.fromiter((row.realised for row in rows), dtype=np.float64, count=len(rows))


def _directions(log_returns: np.ndarray, dead_band: float) -> np.ndarray:
    """1 up, -1 down, 0 flat: ``inference.forecasting.direction_of`` over an array."""
    return np.where(log_returns > dead_band, 1, np.where(log_returns < -dead_band, -1, 0))


def leaderboard_document(standings: Sequence[Standing], champion: ModelKey | None, challengers: Sequence[ModelKey],
                         window: int, live_promotion: dict[str, object], now_ms: int) -> str:
    """The JSON inference writes to Redis for ``GET /models``."""
    return json.dumps({
        "updated_ms": now_ms,
        "window": window,
        "champion": None if champion is None else {"model_name": champion[0], "model_version": champion[1]},
        "challengers": [{"model_name": name, "model_version": version} for name, version in challengers],
        "live_promotion": live_promotion,
        "standings": [asdict(s) | {"label": s.label} for s in standings],
    }, allow_nan=False)
