"""Labels look ahead by time, splits keep a gap, windows never cross a hole or a symbol."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.data.dataset import (
    add_labels,
    build_samples,
    direction_classes,
    feature_columns,
    single_feature_set_version,
    target_column,
    walk_forward_split,
)

from .conftest import MINUTE_MS, START_MS, generated_frame


def _frame(closes: list[float], timestamps: list[int] | None = None, symbol: str = "BTCUSDT") -> pd.DataFrame:
    n = len(closes)
    stamps = timestamps if timestamps is not None else [START_MS + i * MINUTE_MS for i in range(n)]
    return pd.DataFrame(
        {
            "symbol": symbol,
            "interval": "1m",
            "timestamp_ms": stamps,
            "feature_set_version": "fs-x",
            "close": closes,
            "f": np.arange(n, dtype=float),
        }
    )


def test_forward_return_is_looked_up_by_time_not_by_row() -> None:
    # Minute 3 is missing: the 2-ahead label of minute 1 is unknown, not the close of minute 4.
    stamps = [START_MS + m * MINUTE_MS for m in (0, 1, 2, 4, 5)]
    labelled = add_labels(_frame([100, 101, 102, 104, 105], stamps), [2], 0.0, MINUTE_MS)
    target = labelled[target_column(2)].to_numpy()
    assert target[0] == pytest.approx(np.log(102 / 100))
    assert np.isnan(target[1])  # minute 3 missing
    assert target[2] == pytest.approx(np.log(104 / 102))
    assert np.isnan(target[3]) and np.isnan(target[4])  # beyond the data
    assert labelled["next_return"].iloc[0] == pytest.approx(np.log(101 / 100))


def test_labels_never_mix_symbols() -> None:
    frame = pd.concat([_frame([100, 110, 120], symbol="AAAUSDT"), _frame([1, 2, 3], symbol="BBBUSDT")])
    labelled = add_labels(frame.sample(frac=1, random_state=0), [1], 0.0, MINUTE_MS)
    assert list(labelled["symbol"]) == ["AAAUSDT"] * 3 + ["BBBUSDT"] * 3
    np.testing.assert_allclose(
        labelled[target_column(1)].to_numpy(), [np.log(1.1), np.log(12 / 11), np.nan, np.log(2), np.log(1.5), np.nan]
    )


def test_direction_dead_band() -> None:
    classes = direction_classes(np.array([-0.002, -0.001, 0.0, 0.001, 0.002, np.nan]), dead_band=0.001)
    assert classes.tolist() == [0, 1, 1, 1, 2, -1]


def test_split_is_time_ordered_with_gaps_of_the_horizon() -> None:
    timestamps = START_MS + MINUTE_MS * np.arange(1000)
    split = walk_forward_split(timestamps, 0.2, 0.2, gap_candles=5, interval_ms=MINUTE_MS)
    parts = split.part_of(timestamps)
    train, validation, test = (timestamps[parts == name] for name in ("train", "validation", "test"))
    assert train.max() < validation.min() < validation.max() < test.min()
    # The last training label (5 candles ahead) ends before validation starts; same for test.
    assert train.max() + 5 * MINUTE_MS < validation.min()
    assert validation.max() + 5 * MINUTE_MS < test.min()
    assert (parts == "gap").sum() == 10
    assert len(test) == len(validation) == int(990 * 0.2)
    assert test.max() == timestamps.max()


def test_split_refuses_too_little_data() -> None:
    with pytest.raises(ValueError, match="too few"):
        walk_forward_split(START_MS + MINUTE_MS * np.arange(12), 0.2, 0.2, 5, MINUTE_MS)


def test_windows_are_contiguous_finite_and_end_at_their_row() -> None:
    stamps = [START_MS + m * MINUTE_MS for m in (0, 1, 2, 3, 5, 6, 7, 8, 9)]
    frame = _frame([100.0 + i for i in range(9)], stamps)
    frame.loc[7, "f"] = np.nan  # minute 8 has no feature value
    labelled = add_labels(frame, [1], 0.0, MINUTE_MS)
    samples = build_samples(labelled, ["f"], [1], lag=3, interval_ms=MINUTE_MS, row_mask=np.ones(9, bool))
    # Row 2 (minutes 0-2) ok; row 3's label needs minute 4 (missing); row 6 (minutes 5-7) ok;
    # rows 7 and 8 have the NaN inside their window; no label after minute 9.
    assert samples.rows.tolist() == [2, 6]
    np.testing.assert_array_equal(samples.windows[:, :, 0], [[0, 1, 2], [4, 5, 6]])
    np.testing.assert_array_equal(samples.last(1)[:, :, 0], [[2], [6]])


def test_feature_columns_and_single_version() -> None:
    labelled = add_labels(generated_frame("random_walk", 50), [5, 15], 0.0005, MINUTE_MS)
    assert feature_columns(labelled) == ["ret_1", "ret_5", "noise"]
    assert single_feature_set_version(labelled) == "fs-unit"
    labelled.loc[3, "feature_set_version"] = "fs-other"
    with pytest.raises(ValueError, match="exactly one"):
        single_feature_set_version(labelled)
