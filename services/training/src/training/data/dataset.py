"""Labelled datasets from offline feature frames, split by time without leaking the future.

Input frames have the feature store's offline shape: ``symbol, interval, timestamp_ms,
feature_set_version, close`` then one column per feature, one row per symbol and
candle. Labels are forward log returns, looked up by timestamp (never by row
position), so a missing candle yields a missing label instead of a wrong one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

KEY_COLUMNS = ("symbol", "interval", "timestamp_ms")
META_COLUMNS = ("feature_set_version", "close")
DIRECTION_COLUMN = "direction"
NEXT_RETURN_COLUMN = "next_return"  # one candle ahead: what a position held for one candle earns
SPLIT_COLUMN = "split"
DIRECTIONS = ("down", "flat", "up")  # class ids 0, 1, 2


def target_column(horizon: int) -> str:
    return f"target_h{horizon}"


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """Every column that is neither key, metadata, label nor derived here; in frame order."""
    reserved = {*KEY_COLUMNS, *META_COLUMNS, DIRECTION_COLUMN, NEXT_RETURN_COLUMN, SPLIT_COLUMN}
    return [name for name in frame.columns if name not in reserved and not name.startswith("target_h")]


def single_feature_set_version(frame: pd.DataFrame) -> str:
    versions = sorted(frame["feature_set_version"].dropna().unique())
    if len(versions) != 1:
        raise ValueError(f"a dataset needs exactly one feature_set_version, found {versions}")
    return str(versions[0])


def forward_log_return(frame: pd.DataFrame, candles: int, interval_ms: int) -> np.ndarray:
    """log(close at t + candles) - log(close at t) per row; NaN where that candle is missing."""
    closes = pd.Series(frame["close"].to_numpy(dtype=np.float64), index=_keys(frame, 0))
    future = closes.reindex(_keys(frame, candles * interval_ms)).to_numpy()
    return np.log(future) - np.log(frame["close"].to_numpy(dtype=np.float64))


def direction_classes(returns: np.ndarray, dead_band: float) -> np.ndarray:
    """0 down, 1 flat (|r| <= dead_band), 2 up; -1 where the return is unknown."""
    classes = np.where(returns > dead_band, 2, np.where(returns < -dead_band, 0, 1)).astype(np.int8)
    return np.where(np.isfinite(returns), classes, -1).astype(np.int8)


def add_labels(frame: pd.DataFrame, horizons: Sequence[int], dead_band: float, interval_ms: int) -> pd.DataFrame:
    """A copy sorted by symbol and time with ``target_h<H>`` per horizon, ``direction`` and ``next_return``."""
    if not horizons:
        raise ValueError("at least one horizon is needed")
    labelled = frame.sort_values(["symbol", "timestamp_ms"], kind="stable").reset_index(drop=True)
    if labelled.duplicated(["symbol", "timestamp_ms"]).any():
        raise ValueError("the feature frame has duplicate (symbol, timestamp_ms) rows")
    for horizon in horizons:
        labelled[target_column(horizon)] = forward_log_return(labelled, horizon, interval_ms)
    labelled[DIRECTION_COLUMN] = direction_classes(labelled[target_column(horizons[0])].to_numpy(), dead_band)
    labelled[NEXT_RETURN_COLUMN] = forward_log_return(labelled, 1, interval_ms)
    return labelled


def _keys(frame: pd.DataFrame, shift_ms: int) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([frame["symbol"].to_numpy(), frame["timestamp_ms"].to_numpy() + shift_ms])


@dataclass(frozen=True)
class TimeSplit:
    """Half-open time ranges [start, end) of each part; gaps keep labels from overlapping the next part."""

    train_start_ms: int
    train_end_ms: int
    validation_start_ms: int
    validation_end_ms: int
    test_start_ms: int
    test_end_ms: int
    gap_candles: int

    def part_of(self, timestamps: np.ndarray) -> np.ndarray:
        """'train', 'validation', 'test', or 'gap' for each timestamp."""
        parts = np.full(len(timestamps), "gap", dtype=object)
        parts[(timestamps >= self.train_start_ms) & (timestamps < self.train_end_ms)] = "train"
        parts[(timestamps >= self.validation_start_ms) & (timestamps < self.validation_end_ms)] = "validation"
        parts[(timestamps >= self.test_start_ms) & (timestamps < self.test_end_ms)] = "test"
        return parts


def walk_forward_split(
    timestamps: np.ndarray, validation_fraction: float, test_fraction: float, gap_candles: int, interval_ms: int
) -> TimeSplit:
    """Oldest data trains, the next validates, the newest tests; ``gap_candles`` between parts.

    With a gap of at least the horizon H, the label of the last training row (which looks
    H candles ahead) ends before the first validation row, and likewise before test.
    """
    start, last = int(np.min(timestamps)), int(np.max(timestamps))
    candles = (last - start) // interval_ms + 1
    gap = gap_candles * interval_ms
    usable = candles - 2 * gap_candles
    n_test = int(usable * test_fraction)
    n_validation = int(usable * validation_fraction)
    if min(n_test, n_validation, usable - n_test - n_validation) < 1:
        raise ValueError(f"{candles} candles are too few for a split with gaps of {gap_candles}")
    end = last + interval_ms
    test_start = end - n_test * interval_ms
    validation_end = test_start - gap
    validation_start = validation_end - n_validation * interval_ms
    train_end = validation_start - gap
    return TimeSplit(start, train_end, validation_start, validation_end, test_start, end, gap_candles)


@dataclass(frozen=True)
class Samples:
    """Model inputs and labels of one part; ``rows`` index the labelled frame."""

    windows: np.ndarray  # (n, lag, n_features) raw float32 features, the newest vector last
    targets: np.ndarray  # (n, n_horizons) forward log returns
    directions: np.ndarray  # (n,) class ids
    rows: np.ndarray  # (n,) positions in the labelled frame

    def __len__(self) -> int:
        return len(self.rows)

    def last(self, lag: int) -> np.ndarray:
        """The newest ``lag`` vectors of each window."""
        return self.windows[:, self.windows.shape[1] - lag :, :]

    def primary_targets(self) -> np.ndarray:
        return self.targets[:, 0]

    def subset(self, keep: np.ndarray) -> Samples:
        return Samples(self.windows[keep], self.targets[keep], self.directions[keep], self.rows[keep])


def build_samples(
    labelled: pd.DataFrame,
    feature_names: Sequence[str],
    horizons: Sequence[int],
    lag: int,
    interval_ms: int,
    row_mask: np.ndarray,
) -> Samples:
    """Windows of the last ``lag`` consecutive candles for each selected row with all labels known.

    A window is used only when its candles are contiguous in time and all its features
    are finite (warm-up rows of rolling indicators are skipped this way).
    """
    targets_all = labelled[[target_column(h) for h in horizons]].to_numpy(dtype=np.float64)
    labels_known = np.isfinite(targets_all).all(axis=1) & row_mask
    values_all = labelled[list(feature_names)].to_numpy(dtype=np.float32)
    timestamps_all = labelled["timestamp_ms"].to_numpy(dtype=np.int64)
    windows, rows = [], []
    for positions in labelled.groupby("symbol", sort=False).indices.values():
        positions = np.sort(positions)
        values, timestamps = values_all[positions], timestamps_all[positions]
        usable = _complete_windows(values, timestamps, lag, interval_ms) & labels_known[positions]
        picked = np.flatnonzero(usable)
        if len(picked) == 0:
            continue
        sliding = np.lib.stride_tricks.sliding_window_view(values, (lag, values.shape[1]))[:, 0]
        windows.append(sliding[picked - (lag - 1)])
        rows.append(positions[picked])
    if not rows:
        empty = np.empty((0, lag, len(feature_names)), dtype=np.float32)
        return Samples(empty, np.empty((0, len(horizons))), np.empty(0, dtype=np.int8), np.empty(0, dtype=np.int64))
    all_rows = np.concatenate(rows)
    return Samples(
        windows=np.ascontiguousarray(np.concatenate(windows), dtype=np.float32),
        targets=targets_all[all_rows],
        directions=labelled[DIRECTION_COLUMN].to_numpy()[all_rows].astype(np.int8),
        rows=all_rows,
    )


def _complete_windows(values: np.ndarray, timestamps: np.ndarray, lag: int, interval_ms: int) -> np.ndarray:
    """True at i when rows i-lag+1..i are consecutive candles with finite features."""
    n = len(values)
    complete = np.zeros(n, dtype=bool)
    if n < lag:
        return complete
    bad_rows = np.concatenate([[0], np.cumsum(~np.isfinite(values).all(axis=1))])
    ends = np.arange(lag - 1, n)
    no_bad = bad_rows[ends + 1] - bad_rows[ends + 1 - lag] == 0
    contiguous = timestamps[ends] - timestamps[ends - lag + 1] == (lag - 1) * interval_ms
    complete[ends] = no_bad & contiguous
    return complete


@dataclass(frozen=True)
class PreparedDataset:
    """A labelled frame, its time split and the samples of each part (same rows for every model)."""

    labelled: pd.DataFrame
    feature_names: list[str]
    feature_set_version: str
    symbols: list[str]
    interval: str
    interval_ms: int
    horizons: list[int]
    dead_band: float
    lag_window: int
    split: TimeSplit
    train: Samples
    validation: Samples
    test: Samples

    def column(self, samples: Samples, name: str) -> np.ndarray:
        return self.labelled[name].to_numpy()[samples.rows]

    def with_split_column(self) -> pd.DataFrame:
        """The labelled frame plus which part each row belongs to ('gap' between parts)."""
        frame = self.labelled.copy()
        frame[SPLIT_COLUMN] = self.split.part_of(frame["timestamp_ms"].to_numpy())
        return frame


def prepare_dataset(
    frame: pd.DataFrame,
    horizons: Sequence[int],
    dead_band: float,
    interval: str,
    interval_ms: int,
    lag_window: int,
    validation_fraction: float,
    test_fraction: float,
    exclude_features: Sequence[str] = (),
) -> PreparedDataset:
    """Label, split by time (gaps of the longest horizon) and window a feature frame.

    ``exclude_features`` are left out of the model inputs (e.g. features in price units,
    whose range in the test period need not resemble the training period's).
    """
    if frame.empty:
        raise ValueError("the feature frame is empty: nothing to train on")
    horizons = list(horizons)
    labelled = add_labels(frame, horizons, dead_band, interval_ms)
    feature_names = [name for name in feature_columns(labelled) if name not in set(exclude_features)]
    if not feature_names:
        raise ValueError("no feature columns left to train on")
    split = walk_forward_split(
        labelled["timestamp_ms"].to_numpy(), validation_fraction, test_fraction, max(horizons), interval_ms
    )
    parts = split.part_of(labelled["timestamp_ms"].to_numpy())

    def samples(part: str) -> Samples:
        return build_samples(labelled, feature_names, horizons, lag_window, interval_ms, parts == part)

    prepared = PreparedDataset(
        labelled=labelled,
        feature_names=feature_names,
        feature_set_version=single_feature_set_version(labelled),
        symbols=sorted(labelled["symbol"].unique()),
        interval=interval,
        interval_ms=interval_ms,
        horizons=horizons,
        dead_band=dead_band,
        lag_window=lag_window,
        split=split,
        train=samples("train"),
        validation=samples("validation"),
        test=samples("test"),
    )
    for part in ("train", "validation", "test"):
        if len(getattr(prepared, part)) == 0:
            raise ValueError(f"no complete {part} samples: too little data or too many holes")
    return prepared
