"""The feature computation: one function, :func:`compute_block`, for the stream and the batch.

Windows. TA-Lib's moving averages and deviations keep running sums and its EMAs are
seeded from the first values, so a value depends (in its last bits) on where the
input array starts. Both paths therefore feed TA-Lib the *same* arrays: the candles
of a contiguous segment are cut into blocks of :data:`BLOCK_CANDLES`, and a row of
block ``k`` is computed from the array that starts :data:`WARMUP_CANDLES` before
the block (or at the segment start). The batch path computes a whole block at once,
the stream computes the same array up to its newest candle; TA-Lib is causal, so
the two agree. The warm-up (>= 384 candles) also makes the EMA seed's influence
negligible ((13/14)^384 ~ 4e-13) against a computation over all of history.

Two parts. :func:`compute_block` is :func:`series_indicators` (TA-Lib over one
series' array) followed by :func:`assemble_rows` (element-wise, row by row). The batch
path runs both per block; the stream runs the first per symbol for its newest candle
and the second once for every row of a batch, which is where the per-candle cost was.

Gaps. A candle without trades (``is_gap_fill``) is flat at the previous close with
zero volume; missing candles (at most :data:`MAX_FILLED_GAP` in a row) are filled
with exactly such candles before computing, and produce no vector of their own.
Zero volume gives a taker-buy ratio of 0.5 and a VWAP distance of 0; a candle with
high == low has body and wick ratios of 0. A longer hole starts a new segment,
whose warm-up starts from nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

import talib

from tickcast.features.definitions import (
    BLOCK_CANDLES,
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    HOUR_MS,
    HOURLY_CLOSES,
    MAX_FILLED_GAP,
    MIN_CANDLES,
    WARMUP_CANDLES,
)
from tickcast.intervals import interval_ms

_COLUMN = {name: index for index, name in enumerate(FEATURE_NAMES)}


class _TaLib:
    """TA-Lib's functions without the pandas/polars wrapper ``talib`` puts around them: the
    stream calls them for every candle, and the wrapper's type checks cost more than the
    indicators themselves on a few hundred values.
    """

    def __getattr__(self, name: str) -> object:
        function = getattr(talib, name)
        unwrapped = getattr(function, "__wrapped__", function)
        setattr(self, name, unwrapped)  # found once, then an ordinary attribute
        return unwrapped


ta = _TaLib()
_DAY_S = 86_400
_DAY_MS = 86_400_000
# 1970-01-01 was a Thursday; weekday numbers count from Monday = 0.
_EPOCH_WEEKDAY = 3

INPUT_COLUMNS = ("open_time_ms", "open", "high", "low", "close", "volume", "taker_buy_base_volume", "vwap")


@dataclass(frozen=True)
class BlockInputs:
    """Consecutive candles of one segment, oldest first.

    The indicators run over the whole block (``close``, ``high``, ``low``, ``volume``,
    length n); features are returned for its last m rows, described by the row arrays
    (``open_time_ms``, ``open``, ``taker_buy_base_volume``, ``vwap``: length m, and
    ``hourly_prior`` (m, HOURLY_CLOSES): each row's closes of the completed hours before
    its own, NaN when too few).
    """

    close: np.ndarray
    high: np.ndarray
    low: np.ndarray
    volume: np.ndarray
    open_time_ms: np.ndarray
    open: np.ndarray
    taker_buy_base_volume: np.ndarray
    vwap: np.ndarray
    hourly_prior: np.ndarray


# The indicator part of the computation, per series: these columns, for the rows asked for.
SERIES_COLUMNS = (
    "ret_1",
    "ret_5",
    "ret_15",
    "ret_60",
    "volatility_15",
    "volatility_60",
    "sma_7",
    "sma_25",
    "sma_99",
    "rsi_14",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_upper",
    "bb_lower",
    "atr_14",
    "natr_14",
    "volume_mean_60",
    "volume_std_60",
)
_SERIES = {name: index for index, name in enumerate(SERIES_COLUMNS)}


@dataclass(frozen=True)
class RowInputs:
    """The candle fields of the rows whose features are assembled (each of length m)."""

    open_time_ms: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    taker_buy_base_volume: np.ndarray
    vwap: np.ndarray
    hourly_prior: np.ndarray  # (m, HOURLY_CLOSES)


def compute_block(inputs: BlockInputs) -> np.ndarray:
    """Every feature for the block's last m rows: an (m, n_features) array, NaN until a lookback is full."""
    m = inputs.open_time_ms.shape[0]
    rows = slice(inputs.close.shape[0] - m, None)
    series = series_indicators(inputs.close, inputs.high, inputs.low, inputs.volume, m)
    return assemble_rows(
        series,
        RowInputs(
            open_time_ms=inputs.open_time_ms,
            open=inputs.open,
            high=inputs.high[rows],
            low=inputs.low[rows],
            close=inputs.close[rows],
            volume=inputs.volume[rows],
            taker_buy_base_volume=inputs.taker_buy_base_volume,
            vwap=inputs.vwap,
            hourly_prior=inputs.hourly_prior,
        ),
    )


def series_indicators(
    close: np.ndarray, high: np.ndarray, low: np.ndarray, volume: np.ndarray, m: int
) -> np.ndarray:
    """The TA-Lib part over a whole series array, kept for its last ``m`` rows: (m, len(SERIES_COLUMNS)).

    Split from :func:`assemble_rows` because only this part needs a symbol's history: the
    stream runs it per symbol for the newest row, then assembles all symbols' rows at once.
    """
    rows = slice(close.shape[0] - m, None)
    out = np.empty((m, len(SERIES_COLUMNS)))

    def put(name: str, values: np.ndarray) -> None:
        out[:, _SERIES[name]] = values[rows]

    log_close = np.log(close)
    returns_1 = _lagged_difference(log_close, 1)
    put("ret_1", returns_1)
    for lag in (5, 15, 60):
        put(f"ret_{lag}", _lagged_difference(log_close, lag))
    put("volatility_15", ta.STDDEV(returns_1, 15, 1))
    put("volatility_60", ta.STDDEV(returns_1, 60, 1))
    for period in (7, 25, 99):
        put(f"sma_{period}", ta.SMA(close, period))
    put("rsi_14", ta.RSI(close, 14))
    macd, signal, histogram = ta.MACD(close, 12, 26, 9)
    put("macd", macd)
    put("macd_signal", signal)
    put("macd_hist", histogram)
    upper, _middle, lower = ta.BBANDS(close, 20, 2, 2, 0)
    put("bb_upper", upper)
    put("bb_lower", lower)
    put("atr_14", ta.ATR(high, low, close, 14))
    put("natr_14", ta.NATR(high, low, close, 14))
    put("volume_mean_60", ta.SMA(volume, 60))
    put("volume_std_60", ta.STDDEV(volume, 60, 1))
    return out


def assemble_rows(series: np.ndarray, row: RowInputs) -> np.ndarray:
    """Every feature of m rows from their indicator values and candle fields: (m, n_features).

    Element-wise only, so a row's values do not depend on which other rows share the call.
    """
    out = np.full((row.open_time_ms.shape[0], len(FEATURE_NAMES)), np.nan)

    def put(name: str, values: np.ndarray) -> None:
        out[:, _COLUMN[name]] = values

    def indicator(name: str) -> np.ndarray:
        return series[:, _SERIES[name]]

    for name in ("ret_1", "ret_5", "ret_15", "ret_60", "volatility_15", "volatility_60"):
        put(name, indicator(name))
    sma_7, sma_25, sma_99 = indicator("sma_7"), indicator("sma_25"), indicator("sma_99")
    put("sma_ratio_7_25", sma_7 / sma_25)
    put("sma_ratio_25_99", sma_25 / sma_99)
    now_close, now_high, now_low, now_volume = row.close, row.high, row.low, row.volume
    put("hourly_sma_ratio_7_25", _hourly_ratio(row.hourly_prior, now_close))

    for name in ("rsi_14", "macd", "macd_signal", "macd_hist", "atr_14", "natr_14"):
        put(name, indicator(name))
    upper, lower = indicator("bb_upper"), indicator("bb_lower")
    band = upper - lower
    volume_mean, volume_std = indicator("volume_mean_60"), indicator("volume_std_60")
    with np.errstate(divide="ignore", invalid="ignore"):
        pct_b = np.where(band > 0, (now_close - lower) / band, 0.5)  # flat prices: mid-band
        put("bb_pct_b", np.where(np.isnan(band), np.nan, pct_b))
        zscore = np.where(volume_std > 0, (now_volume - volume_mean) / volume_std, 0.0)
        put("volume_zscore_60", np.where(np.isnan(volume_std), np.nan, zscore))
        traded = now_volume > 0
        put("taker_buy_ratio", np.where(traded, row.taker_buy_base_volume / now_volume, 0.5))
        put("vwap_distance", np.where(traded, now_close / row.vwap - 1.0, 0.0))
        candle_range = now_high - now_low
        ranged = candle_range > 0
        open_ = row.open
        put("body_ratio", np.where(ranged, np.abs(now_close - open_) / candle_range, 0.0))
        put(
            "upper_wick_ratio",
            np.where(ranged, (now_high - np.maximum(open_, now_close)) / candle_range, 0.0),
        )
        put(
            "lower_wick_ratio", np.where(ranged, (np.minimum(open_, now_close) - now_low) / candle_range, 0.0)
        )

    seconds_of_day = (row.open_time_ms // 1000) % _DAY_S
    day_angle = 2 * np.pi * seconds_of_day / _DAY_S
    weekday = (row.open_time_ms // _DAY_MS + _EPOCH_WEEKDAY) % 7
    week_angle = 2 * np.pi * weekday / 7
    put("time_of_day_sin", np.sin(day_angle))
    put("time_of_day_cos", np.cos(day_angle))
    put("day_of_week_sin", np.sin(week_angle))
    put("day_of_week_cos", np.cos(week_angle))
    return out


def _lagged_difference(values: np.ndarray, lag: int) -> np.ndarray:
    result = np.full(values.shape[0], np.nan)
    if values.shape[0] > lag:
        result[lag:] = values[lag:] - values[:-lag]
    return result


def _hourly_ratio(hourly_prior: np.ndarray, close: np.ndarray) -> np.ndarray:
    # Column by column on purpose: the sum's rounding must not depend on the array's
    # shape or memory layout, which differ between the stream (one row) and a batch.
    total_25 = hourly_prior[:, 0].copy()
    for column in range(1, HOURLY_CLOSES):
        total_25 = total_25 + hourly_prior[:, column]
    total_7 = hourly_prior[:, HOURLY_CLOSES - 6].copy()
    for column in range(HOURLY_CLOSES - 5, HOURLY_CLOSES):
        total_7 = total_7 + hourly_prior[:, column]
    return ((total_7 + close) / 7) / ((total_25 + close) / (HOURLY_CLOSES + 1))


def is_ready(position: np.ndarray | int, completed_hours: np.ndarray | int) -> np.ndarray | bool:
    """A row may be emitted once its longest lookbacks are full."""
    return (np.asarray(position) >= MIN_CANDLES - 1) & (np.asarray(completed_hours) >= HOURLY_CLOSES)


def block_start(position: int) -> int:
    """Segment position where the array for the row at ``position`` starts."""
    return max(0, (position // BLOCK_CANDLES) * BLOCK_CANDLES - WARMUP_CANDLES)


# --- batch path ------------------------------------------------------------------------------


def fill_gaps(candles: pd.DataFrame, interval: str) -> pd.DataFrame:
    """One symbol's candle frame, sorted, deduplicated (first kept) and gap-filled.

    Adds ``synthetic`` (True for a filled candle) and ``segment`` (0, 1, ... bumped
    after each hole longer than :data:`MAX_FILLED_GAP`).
    """
    span = interval_ms(interval)
    frame = candles.sort_values("open_time_ms", kind="stable").drop_duplicates("open_time_ms", keep="first")
    times = frame["open_time_ms"].to_numpy(np.int64)
    missing = np.diff(times) // span - 1
    segment_of_row = np.concatenate([[0], np.cumsum(missing > MAX_FILLED_GAP)]).astype(np.int64)
    frame = frame.assign(segment=segment_of_row, synthetic=False).set_index("open_time_ms")
    pieces = []
    for _segment, rows in frame.groupby("segment", sort=True):
        grid = np.arange(rows.index[0], rows.index[-1] + span, span, dtype=np.int64)
        if len(grid) == len(rows):
            pieces.append(rows)
            continue
        full = rows.reindex(grid)
        holes = full["close"].isna().to_numpy()
        previous_close = full["close"].ffill()
        for column in ("open", "high", "low", "close", "vwap"):
            full[column] = full[column].where(~holes, previous_close)
        for column in ("volume", "quote_volume", "taker_buy_base_volume", "taker_buy_quote_volume"):
            full[column] = full[column].where(~holes, 0.0)
        full["trade_count"] = full["trade_count"].where(~holes, 0)
        full["is_gap_fill"] = full["is_gap_fill"].where(~holes, True).astype(bool)
        full["synthetic"] = holes
        full["segment"] = rows["segment"].iloc[0]
        full["symbol"] = rows["symbol"].iloc[0]
        full["interval"] = rows["interval"].iloc[0]
        pieces.append(full)
    filled = pd.concat(pieces) if pieces else frame
    filled.index.name = "open_time_ms"
    return filled.reset_index()


def compute_segment(segment: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Features of one contiguous, gap-filled segment: (values (n, F), ready mask (n,))."""
    arrays = {column: segment[column].to_numpy(np.float64) for column in INPUT_COLUMNS[1:]}
    open_time = segment["open_time_ms"].to_numpy(np.int64)
    n = open_time.shape[0]
    hourly_prior, completed_hours = _hourly_prior(open_time, arrays["close"])
    values = np.empty((n, len(FEATURE_NAMES)))
    for first in range(0, n, BLOCK_CANDLES):
        start = block_start(first)
        stop = min(n, first + BLOCK_CANDLES)
        values[first:stop] = compute_block(
            BlockInputs(
                close=arrays["close"][start:stop],
                high=arrays["high"][start:stop],
                low=arrays["low"][start:stop],
                volume=arrays["volume"][start:stop],
                open_time_ms=open_time[first:stop],
                open=arrays["open"][first:stop],
                taker_buy_base_volume=arrays["taker_buy_base_volume"][first:stop],
                vwap=arrays["vwap"][first:stop],
                hourly_prior=hourly_prior[first:stop],
            )
        )
    ready = is_ready(np.arange(n), completed_hours) & np.isfinite(values).all(axis=1)
    return values, ready


def _hourly_prior(open_time: np.ndarray, close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hours = open_time - open_time % HOUR_MS
    new_hour = np.concatenate([[True], hours[1:] != hours[:-1]])
    completed_hours = np.cumsum(new_hour) - 1  # hours of the segment before each row's own
    last_of_hour = np.concatenate([new_hour[1:], [True]])
    hour_closes = close[last_of_hour]
    prior = np.full((open_time.shape[0], HOURLY_CLOSES), np.nan)
    if hour_closes.shape[0] > HOURLY_CLOSES:
        windows = sliding_window_view(hour_closes, HOURLY_CLOSES)
        rows = completed_hours >= HOURLY_CLOSES
        prior[rows] = windows[completed_hours[rows] - HOURLY_CLOSES]
    return prior, completed_hours


def iter_series(candles: pd.DataFrame) -> Iterator[tuple[str, str, pd.DataFrame]]:
    for (symbol, interval), rows in candles.groupby(["symbol", "interval"], sort=True):
        yield str(symbol), str(interval), rows


def compute_history(candles: pd.DataFrame) -> pd.DataFrame:
    """Feature frame of a candle history (any symbols and intervals): the batch path.

    One row per real candle whose lookbacks are full, columns ``symbol, interval,
    timestamp_ms, feature_set_version, close`` and one per feature; sorted by symbol,
    interval and time.
    """
    frames = []
    for symbol, interval, rows in iter_series(candles):
        filled = fill_gaps(rows, interval)
        for _segment, segment in filled.groupby("segment", sort=True):
            values, ready = compute_segment(segment)
            keep = ready & ~segment["synthetic"].to_numpy(bool)
            frame = pd.DataFrame(values[keep], columns=list(FEATURE_NAMES))
            frame.insert(0, "close", segment["close"].to_numpy(np.float64)[keep])
            frame.insert(0, "feature_set_version", FEATURE_SET_VERSION)
            frame.insert(0, "timestamp_ms", segment["open_time_ms"].to_numpy(np.int64)[keep])
            frame.insert(0, "interval", interval)
            frame.insert(0, "symbol", symbol)
            frames.append(frame)
    if not frames:
        return empty_feature_frame()
    return pd.concat(frames, ignore_index=True)


def empty_feature_frame() -> pd.DataFrame:
    columns: dict[str, pd.Series] = {
        "symbol": pd.Series(dtype="object"),
        "interval": pd.Series(dtype="object"),
        "timestamp_ms": pd.Series(dtype="int64"),
        "feature_set_version": pd.Series(dtype="object"),
        "close": pd.Series(dtype="float64"),
    }
    columns.update({name: pd.Series(dtype="float64") for name in FEATURE_NAMES})
    return pd.DataFrame(columns)
