"""Per-symbol rolling state of the stream: the trailing candles the next vector needs.

:class:`CandleBuffer` holds exactly the array that :func:`compute_block` gets for
the newest candle in the batch path (see compute.py "Windows"), plus the last 24
completed hourly closes, and serialises to a compact byte string (about 16 KB at
most) for the faust table's changelog.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple

import numpy as np

from tickcast.contracts import Candle
from tickcast.features.compute import RowInputs, assemble_rows, block_start, is_ready, series_indicators
from tickcast.features.definitions import (
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    HOUR_MS,
    HOURLY_CLOSES,
    MAX_FILLED_GAP,
)


class Bar(NamedTuple):
    """The candle fields features are computed from."""

    open_time_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    taker_buy_base_volume: float
    vwap: float

    @classmethod
    def from_candle(cls, candle: Candle) -> Bar:
        return cls(
            candle.open_time_ms,
            candle.open,
            candle.high,
            candle.low,
            candle.close,
            candle.volume,
            candle.taker_buy_base_volume,
            candle.vwap,
        )

    def flat_after(self, open_time_ms: int) -> Bar:
        """The gap-fill candle that follows this one: flat at its close, no volume."""
        c = self.close
        return Bar(open_time_ms, c, c, c, c, 0.0, 0.0, c)


class Pushed(Enum):
    APPENDED = "appended"  # the next candle, possibly after filling a short gap
    RESTARTED = "restarted"  # after a hole too long to fill: warm-up starts again
    DUPLICATE = "duplicate"  # same open time as the newest candle: ignored
    LATE = "late"  # older than the newest candle: ignored


class IndicatorRow(NamedTuple):
    """A ready candle's indicator values, taken from its window at the time it was pushed."""

    series: np.ndarray  # (len(SERIES_COLUMNS),)
    bar: Bar
    hourly: np.ndarray  # the HOURLY_CLOSES completed hourly closes before it


def finish_rows(rows: Sequence[IndicatorRow]) -> tuple[np.ndarray, np.ndarray]:
    """Feature values of many ready candles at once: (len(rows), n_features), and which rows
    are finite throughout (only those are emitted).

    One call for a whole batch of symbols: the element-wise part costs the same for one row
    as for a thousand, so the stream assembles a batch's rows together.
    """
    if not rows:
        return np.empty((0, len(FEATURE_NAMES))), np.empty(0, dtype=bool)
    bars = [row.bar for row in rows]
    values = assemble_rows(
        np.stack([row.series for row in rows]),
        RowInputs(
            open_time_ms=np.array([bar.open_time_ms for bar in bars], dtype=np.int64),
            open=np.array([bar.open for bar in bars]),
            high=np.array([bar.high for bar in bars]),
            low=np.array([bar.low for bar in bars]),
            close=np.array([bar.close for bar in bars]),
            volume=np.array([bar.volume for bar in bars]),
            taker_buy_base_volume=np.array([bar.taker_buy_base_volume for bar in bars]),
            vwap=np.array([bar.vwap for bar in bars]),
            hourly_prior=np.stack([row.hourly for row in rows]),
        ),
    )
    return values, np.isfinite(values).all(axis=1)


def feature_dict(values: np.ndarray) -> dict[str, float]:
    return dict(zip(FEATURE_NAMES, values.tolist(), strict=True))


_HEADER = struct.Struct("<8sqqqqqqqdddI")
_STATE_TAG = FEATURE_SET_VERSION.encode()[:8].ljust(8, b"_")
_COLUMNS = ("close", "high", "low", "volume")


@dataclass
class CandleBuffer:
    interval_ms: int
    position: int = -1  # segment position of the newest candle; -1 when empty
    window_start: int = 0  # segment position of the first row held
    last: Bar | None = None
    filled: int = 0  # gap-fill candles this window invented so far (for metrics)
    completed_hours: int = 0
    current_hour_ms: int = -1
    hourly: np.ndarray = field(default_factory=lambda: np.empty(0))
    close: np.ndarray = field(default_factory=lambda: np.empty(0))
    high: np.ndarray = field(default_factory=lambda: np.empty(0))
    low: np.ndarray = field(default_factory=lambda: np.empty(0))
    volume: np.ndarray = field(default_factory=lambda: np.empty(0))

    def push(self, bar: Bar) -> Pushed:
        """Add the next candle (filling a short gap before it, as the batch path does)."""
        if self.last is None:
            self._append(bar)
            return Pushed.APPENDED
        if bar.open_time_ms == self.last.open_time_ms:
            return Pushed.DUPLICATE
        if bar.open_time_ms < self.last.open_time_ms:
            return Pushed.LATE
        missing = (bar.open_time_ms - self.last.open_time_ms) // self.interval_ms - 1
        if missing > MAX_FILLED_GAP:
            self._reset()
            self._append(bar)
            return Pushed.RESTARTED
        before_gap = self.last
        for step in range(1, missing + 1):
            self._append(before_gap.flat_after(before_gap.open_time_ms + step * self.interval_ms))
            self.filled += 1
        self._append(bar)
        return Pushed.APPENDED

    def indicator_row(self) -> IndicatorRow | None:
        """The newest candle's indicator part, or None while a lookback is not full."""
        if self.last is None or not is_ready(self.position, self.completed_hours):
            return None
        series = series_indicators(self.close, self.high, self.low, self.volume, 1)[0]
        return IndicatorRow(series, self.last, self.hourly)

    def features(self) -> np.ndarray | None:
        """The newest candle's feature values, or None while not ready or not finite."""
        row = self.indicator_row()
        if row is None:
            return None
        values, finite = finish_rows([row])
        return values[0] if finite[0] else None

    def values(self) -> dict[str, float] | None:
        values = self.features()
        return None if values is None else feature_dict(values)

    def _append(self, bar: Bar) -> None:
        hour = bar.open_time_ms - bar.open_time_ms % HOUR_MS
        if self.last is not None and hour != self.current_hour_ms:
            # The previous candle closed its hour: that close is an hourly close.
            self.hourly = np.append(self.hourly, self.last.close)[-HOURLY_CLOSES:]
            self.completed_hours += 1
        self.current_hour_ms = hour
        self.position += 1
        start = block_start(self.position)
        drop = start - self.window_start
        self.window_start = start
        for name in _COLUMNS:
            setattr(self, name, np.append(getattr(self, name)[drop:], getattr(bar, name)))
        self.last = bar

    def _reset(self) -> None:
        fresh = CandleBuffer(self.interval_ms, filled=self.filled)
        self.__dict__.update(fresh.__dict__)

    # --- codec for the changelog ---------------------------------------------------------

    def encode(self) -> bytes:
        last = self.last or Bar(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        header = _HEADER.pack(
            _STATE_TAG,
            self.interval_ms,
            self.position,
            self.window_start,
            self.filled,
            self.completed_hours,
            self.current_hour_ms,
            last.open_time_ms,
            last.open,
            last.taker_buy_base_volume,
            last.vwap,
            self.close.shape[0],
        )
        arrays = np.concatenate([self.hourly, self.close, self.high, self.low, self.volume])
        return header + struct.pack("<I", self.hourly.shape[0]) + arrays.astype("<f8").tobytes()

    @classmethod
    def decode(cls, blob: bytes) -> CandleBuffer | None:
        """The state, or None when it was written by another feature-set version."""
        (tag, interval, position, start, filled, hours, hour_ms, open_time, open_, taker, vwap, n) = (
            _HEADER.unpack_from(blob)
        )
        if tag != _STATE_TAG:
            return None
        (n_hourly,) = struct.unpack_from("<I", blob, _HEADER.size)
        data = np.frombuffer(blob, dtype="<f8", offset=_HEADER.size + 4).astype(np.float64)
        hourly, rest = data[:n_hourly], data[n_hourly:]
        close, high, low, volume = (rest[i * n : (i + 1) * n] for i in range(4))
        window = cls(
            interval, position, start, None, filled, hours, hour_ms, hourly, close, high, low, volume
        )
        if position >= 0:
            window.last = Bar(
                open_time,
                open_,
                float(high[-1]),
                float(low[-1]),
                float(close[-1]),
                float(volume[-1]),
                taker,
                vwap,
            )
        return window
