"""Live scoring: each prediction against the candle that closes at its target time.

Pure logic, no I/O. Predictions wait (bounded per symbol) for the candle that
opens at their ``target_time_ms``; recent closes are kept too, so the match is
made whichever of the two arrives second (a replay may bring candles first).
Persistence predicts a zero return, so its error is simply |realised return|:
skill = 1 - MAE / persistence MAE, positive when the model beats it.

A model's predictions on a symbol are scored in the order of their target times, so a
prediction whose target is not after the last one scored was scored already (or is too late):
replaying the topics after a restart, or a store recovery, never counts an outcome twice.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass

from tickcast.contracts import Prediction

from inference.forecasting import direction_of


@dataclass(frozen=True)
class LiveScore:
    """Rolling live metrics of one model on one symbol."""

    model_name: str
    symbol: str
    model_version: str  # version behind the newest scored prediction
    mae: float
    persistence_mae: float
    skill: float | None  # None while persistence is exact (no movement yet)
    hit_rate: float
    count: int
    last_target_time_ms: int


@dataclass(frozen=True)
class _Outcome:
    abs_error: float
    abs_persistence_error: float
    hit: bool


class _Rolling:
    def __init__(self, window: int) -> None:
        self.outcomes: deque[_Outcome] = deque(maxlen=window)
        self.model_version = ""
        self.last_target_time_ms = 0

    def summary(self, model_name: str, symbol: str) -> LiveScore:
        count = len(self.outcomes)
        mae = sum(o.abs_error for o in self.outcomes) / count
        persistence_mae = sum(o.abs_persistence_error for o in self.outcomes) / count
        return LiveScore(
            model_name=model_name,
            symbol=symbol,
            model_version=self.model_version,
            mae=mae,
            persistence_mae=persistence_mae,
            skill=1.0 - mae / persistence_mae if persistence_mae > 0 else None,
            hit_rate=sum(o.hit for o in self.outcomes) / count,
            count=count,
            last_target_time_ms=self.last_target_time_ms,
        )


def base_close_of(prediction: Prediction) -> float:
    """The close a stored prediction was made at: its price undone by its return."""
    return prediction.predicted_price / math.exp(prediction.predicted_return)


def _same_forecast(a: Prediction, b: Prediction) -> bool:
    return (a.model_name, a.model_version, a.as_of_ms) == (b.model_name, b.model_version, b.as_of_ms)


@dataclass(frozen=True)
class _Awaiting:
    prediction: Prediction
    base_close: float


class LiveScorer:
    def __init__(self, window: int, max_pending_per_symbol: int, dead_band: float) -> None:
        self._window = window
        self._max_pending = max_pending_per_symbol
        self._dead_band = dead_band
        self._awaiting: dict[str, OrderedDict[int, list[_Awaiting]]] = {}
        self._closes: dict[str, OrderedDict[int, float]] = {}
        self._rolling: dict[tuple[str, str], _Rolling] = {}
        self._changed: set[tuple[str, str]] = set()
        self._recovered: set[str] = set()

    def on_prediction(self, prediction: Prediction, base_close: float) -> None:
        symbol, target = prediction.symbol, prediction.target_time_ms
        if self._scored_already(prediction):
            return
        closes = self._closes.get(symbol)
        target_close = closes.get(target) if closes else None
        if target_close is not None:
            self._score(prediction, base_close, target_close)
            return
        awaiting = self._awaiting.setdefault(symbol, OrderedDict())
        waiting = awaiting.setdefault(target, [])
        if any(_same_forecast(item.prediction, prediction) for item in waiting):
            return  # already waiting (recovered from the store and also made here)
        waiting.append(_Awaiting(prediction, base_close))
        while len(awaiting) > self._max_pending:
            awaiting.popitem(last=False)  # the oldest target: its candle is long overdue

    def on_candle(self, symbol: str, open_time_ms: int, close: float) -> None:
        closes = self._closes.setdefault(symbol, OrderedDict())
        closes[open_time_ms] = close
        while len(closes) > self._max_pending:
            closes.popitem(last=False)
        awaiting = self._awaiting.get(symbol)
        for item in awaiting.pop(open_time_ms, []) if awaiting else []:
            self._score(item.prediction, item.base_close, close)

    def pending(self, symbol: str) -> int:
        awaiting = self._awaiting.get(symbol)
        return sum(len(items) for items in awaiting.values()) if awaiting else 0

    def summaries(self, symbols: Iterable[str]) -> list[LiveScore]:
        """The live scores of every model on these symbols, scored or not since the last drain."""
        wanted = set(symbols)
        return [rolling.summary(*key) for key, rolling in sorted(self._rolling.items()) if key[1] in wanted]

    def drain_changes(self) -> list[LiveScore]:
        """Summaries of every (model, symbol) scored since the last drain."""
        changed = [self._rolling[key].summary(*key) for key in sorted(self._changed)]
        self._changed.clear()
        return changed

    def unrecovered(self, symbols: Iterable[str]) -> list[str]:
        """Symbols whose earlier predictions (made before a restart or elsewhere) were not loaded yet."""
        return sorted(set(symbols) - self._recovered)

    def mark_recovered(self, symbols: Iterable[str]) -> None:
        self._recovered.update(symbols)

    def forget(self, symbols: set[str]) -> None:
        """Drop what waits on symbols this instance no longer owns."""
        for symbol in symbols:
            self._awaiting.pop(symbol, None)
            self._closes.pop(symbol, None)
        self._recovered -= symbols

    def _scored_already(self, prediction: Prediction) -> bool:
        rolling = self._rolling.get((prediction.model_name, prediction.symbol))
        return rolling is not None and prediction.target_time_ms <= rolling.last_target_time_ms

    def _score(self, prediction: Prediction, base_close: float, target_close: float) -> None:
        if self._scored_already(prediction):
            return
        realised = math.log(target_close / base_close)
        key = (prediction.model_name, prediction.symbol)
        rolling = self._rolling.get(key)
        if rolling is None:
            rolling = self._rolling[key] = _Rolling(self._window)
        rolling.outcomes.append(
            _Outcome(
                abs_error=abs(prediction.predicted_return - realised),
                abs_persistence_error=abs(realised),
                hit=direction_of(prediction.predicted_return, self._dead_band)
                == direction_of(realised, self._dead_band),
            )
        )
        rolling.model_version = prediction.model_version
        rolling.last_target_time_ms = prediction.target_time_ms
        self._changed.add(key)
