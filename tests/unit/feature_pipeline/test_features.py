"""The feature definitions: standard formulas, stream/batch parity, readiness, gaps, version."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tickcast.candle_frames import candles_to_frame, frame_to_candles
from tickcast.contracts import Candle
from tickcast.features import FEATURE_NAMES, Bar, Pushed, CandleBuffer, compute_history, definitions
from tickcast.features.definitions import HOUR_MS, MAX_FILLED_GAP, MIN_CANDLES
from tickcast.features.buffer import finish_rows

MINUTE = 60_000


# --- an independent computation of the standard formulas (plain pandas / Python) ----------


def _wilder(values: np.ndarray, period: int) -> np.ndarray:
    """Wilder smoothing seeded with the mean of the first ``period`` values after index 0."""
    out = np.full(len(values), np.nan)
    out[period] = values[1 : period + 1].mean()
    for i in range(period + 1, len(values)):
        out[i] = (out[i - 1] * (period - 1) + values[i]) / period
    return out


def _ema(values: np.ndarray, period: int) -> np.ndarray:
    """EMA seeded with the simple mean of its first ``period`` defined values."""
    out = np.full(len(values), np.nan)
    start = int(np.argmax(~np.isnan(values)))
    out[start + period - 1] = values[start : start + period].mean()
    alpha = 2 / (period + 1)
    for i in range(start + period, len(values)):
        out[i] = alpha * values[i] + (1 - alpha) * out[i - 1]
    return out


def _independent(candles: pd.DataFrame) -> pd.DataFrame:
    c = candles.set_index("open_time_ms")
    close, high, low, volume = c["close"], c["high"], c["low"], c["volume"]
    ret = np.log(close).diff()
    delta = close.diff().fillna(0).to_numpy()
    gain, loss = _wilder(np.clip(delta, 0, None), 14), _wilder(np.clip(-delta, 0, None), 14)
    previous = close.shift()
    true_range = pd.concat([high - low, (high - previous).abs(), (low - previous).abs()], axis=1).max(axis=1)
    macd = _ema(close.to_numpy(), 12) - _ema(close.to_numpy(), 26)
    signal = _ema(macd, 9)
    mean_20, std_20 = close.rolling(20).mean(), close.rolling(20).std(ddof=0)
    hour_close = close.groupby(close.index // HOUR_MS).last()

    def hourly_ratio(timestamp: int) -> float:
        hour = timestamp // HOUR_MS
        closes = np.append(hour_close.loc[hour - 24 : hour - 1].to_numpy(), close.loc[timestamp])
        return closes[-7:].mean() / closes.mean()

    seconds = (c.index // 1000) % 86_400
    weekday = pd.to_datetime(c.index, unit="ms", utc=True).weekday
    high_low = high - low
    frame = pd.DataFrame(
        {
            **{f"ret_{lag}": np.log(close).diff(lag) for lag in (1, 5, 15, 60)},
            "volatility_15": ret.rolling(15).std(ddof=0),
            "volatility_60": ret.rolling(60).std(ddof=0),
            "sma_ratio_7_25": close.rolling(7).mean() / close.rolling(25).mean(),
            "sma_ratio_25_99": close.rolling(25).mean() / close.rolling(99).mean(),
            "rsi_14": 100 - 100 / (1 + gain / loss),
            "macd": macd,
            "macd_signal": signal,
            "macd_hist": macd - signal,
            "bb_pct_b": (close - (mean_20 - 2 * std_20)) / (4 * std_20),
            "atr_14": _wilder(true_range.to_numpy(), 14),
            "natr_14": 100 * _wilder(true_range.to_numpy(), 14) / close,
            "volume_zscore_60": (volume - volume.rolling(60).mean()) / volume.rolling(60).std(ddof=0),
            "taker_buy_ratio": c["taker_buy_base_volume"] / volume,
            "vwap_distance": close / c["vwap"] - 1,
            "body_ratio": (close - c["open"]).abs() / high_low,
            "upper_wick_ratio": (high - np.maximum(c["open"], close)) / high_low,
            "lower_wick_ratio": (np.minimum(c["open"], close) - low) / high_low,
            "time_of_day_sin": np.sin(2 * np.pi * seconds / 86_400),
            "time_of_day_cos": np.cos(2 * np.pi * seconds / 86_400),
            "day_of_week_sin": np.sin(2 * np.pi * weekday / 7),
            "day_of_week_cos": np.cos(2 * np.pi * weekday / 7),
        },
        index=c.index,
    )
    frame.attrs["hourly_ratio"] = hourly_ratio
    return frame


def test_every_feature_matches_an_independent_computation_on_real_candles(btc_week: pd.DataFrame) -> None:
    ours = compute_history(btc_week).set_index("timestamp_ms")
    expected = _independent(btc_week)
    checked = expected.loc[ours.index]
    for name in checked.columns:
        np.testing.assert_allclose(ours[name], checked[name], rtol=1e-9, atol=1e-8, err_msg=name)
    sample = ours.index[::97]
    hourly = [expected.attrs["hourly_ratio"](timestamp) for timestamp in sample]
    np.testing.assert_allclose(ours.loc[sample, "hourly_sma_ratio_7_25"], hourly, rtol=1e-12)
    assert set(FEATURE_NAMES) == set(checked.columns) | {"hourly_sma_ratio_7_25"}


def test_vectors_start_once_the_longest_lookback_is_full_and_are_finite(btc_week: pd.DataFrame) -> None:
    features = compute_history(btc_week)
    first_open = int(btc_week["open_time_ms"].iloc[0])  # 2024-01-01 00:00, an hour boundary
    # 24 completed hours before the candle's own hour, and at least MIN_CANDLES candles.
    assert features["timestamp_ms"].iloc[0] == first_open + 24 * HOUR_MS
    assert len(features) == len(btc_week) - 24 * 60
    assert 24 * 60 > MIN_CANDLES
    assert np.isfinite(features[list(FEATURE_NAMES)].to_numpy()).all()


def _stream(candles: list[Candle]) -> pd.DataFrame:
    """What the stream does per candle: decode state, push, compute, encode (no broker here)."""
    state = CandleBuffer(interval_ms=MINUTE).encode()
    rows = []
    for candle in candles:
        window = CandleBuffer.decode(state)
        assert window is not None
        window.push(Bar.from_candle(candle))
        values = window.features()
        if values is not None:
            rows.append([candle.open_time_ms, *values])
        state = window.encode()
    return pd.DataFrame(rows, columns=["timestamp_ms", *FEATURE_NAMES])


def test_stream_window_and_batch_agree_to_1e9_on_real_candles_with_holes(btc_week: pd.DataFrame) -> None:
    history = btc_week.iloc[: 3 * 1440]
    # A short hole (filled) and a hole longer than MAX_FILLED_GAP (warm-up restarts).
    holes = list(range(1700, 1705)) + list(range(2000, 2001 + MAX_FILLED_GAP))
    history = history.drop(index=holes).reset_index(drop=True)
    batch = compute_history(history)
    stream = _stream(frame_to_candles(history))
    assert len(batch) > 1000
    assert stream["timestamp_ms"].tolist() == batch["timestamp_ms"].tolist()
    difference = np.abs(stream[list(FEATURE_NAMES)].to_numpy() - batch[list(FEATURE_NAMES)].to_numpy())
    assert difference.max() <= 1e-9


def test_missing_candles_are_filled_like_gap_fill_candles_and_emit_nothing(btc_week: pd.DataFrame) -> None:
    history = btc_week.iloc[: 2 * 1440].reset_index(drop=True)
    hole = range(1600, 1610)
    explicit = history.copy()
    previous_close = explicit.loc[hole.start - 1, "close"]
    for column in ("open", "high", "low", "close", "vwap"):
        explicit.loc[hole, column] = previous_close
    for column in ("volume", "quote_volume", "taker_buy_base_volume", "taker_buy_quote_volume"):
        explicit.loc[hole, column] = 0.0
    explicit.loc[hole, "trade_count"] = 0
    explicit.loc[hole, "is_gap_fill"] = True
    frame_to_candles(explicit)  # the builder's gap-fill candles are valid contracts

    with_gap_fills = compute_history(explicit).set_index("timestamp_ms")
    with_hole = compute_history(history.drop(index=list(hole))).set_index("timestamp_ms")
    gap_fill_times = explicit.loc[hole, "open_time_ms"]
    assert not set(gap_fill_times) & set(with_hole.index)
    pd.testing.assert_frame_equal(with_hole, with_gap_fills.drop(index=gap_fill_times))
    flat = with_gap_fills.loc[gap_fill_times]
    assert (flat["ret_1"].iloc[1:] == 0).all() and (flat["taker_buy_ratio"] == 0.5).all()
    assert (flat["vwap_distance"] == 0).all() and (flat["body_ratio"] == 0).all()
    assert (flat["volume_zscore_60"] < 0).all()  # zero volume against a traded minute's mean


def test_feature_set_version_follows_the_definitions(monkeypatch: pytest.MonkeyPatch) -> None:
    original = definitions._version()
    assert original == definitions.FEATURE_SET_VERSION and original.startswith("fs-") and len(original) == 11
    changed = list(definitions.FEATURES)
    changed[0] = definitions.FeatureSpec("ret_1", "ln(close_t / close_t-2)", "3 candles", "numpy")
    monkeypatch.setattr(definitions, "FEATURES", tuple(changed))
    assert definitions._version() != original
    monkeypatch.setattr(definitions, "FEATURES", tuple(definitions.FEATURES))
    monkeypatch.setattr(definitions, "FEATURE_CODE_VERSION", definitions.FEATURE_CODE_VERSION + 1)
    assert definitions._version() != original


def test_window_state_is_compact_and_ignores_duplicates_and_late_candles(btc_week: pd.DataFrame) -> None:
    candles = frame_to_candles(btc_week.iloc[:2000])
    window = CandleBuffer(interval_ms=MINUTE)
    for candle in candles:
        assert window.push(Bar.from_candle(candle)) is Pushed.APPENDED
    blob = window.encode()
    assert len(blob) <= 17_000
    restored = CandleBuffer.decode(blob)
    assert restored is not None
    np.testing.assert_array_equal(restored.features(), window.features())
    assert window.push(Bar.from_candle(candles[-1])) is Pushed.DUPLICATE
    assert window.push(Bar.from_candle(candles[-5])) is Pushed.LATE
    assert CandleBuffer.decode(b"fs-other" + blob[8:]) is None


def test_candle_frame_with_several_symbols_is_computed_per_symbol(btc_week: pd.DataFrame) -> None:
    one = btc_week.iloc[: 2 * 1440]
    other = candles_to_frame(frame_to_candles(one)).assign(symbol="ETHUSDT")
    both = compute_history(pd.concat([other, one], ignore_index=True))
    alone = compute_history(one)
    assert both["symbol"].unique().tolist() == ["BTCUSDT", "ETHUSDT"]
    per_symbol = both[both["symbol"] == "ETHUSDT"].drop(columns="symbol").reset_index(drop=True)
    pd.testing.assert_frame_equal(per_symbol, alone.drop(columns="symbol"))


def test_rows_assembled_together_equal_rows_computed_one_by_one(btc_week: pd.DataFrame) -> None:
    """The stream assembles a whole batch's rows in one call; no row may depend on its neighbours."""
    candles = frame_to_candles(btc_week)
    windows, one_by_one, rows = [], [], []
    # Three "symbols" at different points of the week, with a flat gap-fill in one of them.
    for stop in (1_700, 3_000, 5_555):
        window = CandleBuffer(MINUTE)
        for candle in candles[:stop]:
            window.push(Bar.from_candle(candle))
        windows.append(window)
        one_by_one.append(window.features())
        rows.append(window.indicator_row())
    assert all(row is not None for row in rows)
    together, finite = finish_rows(rows)
    assert finite.all()
    assert together.shape == (3, len(FEATURE_NAMES))
    np.testing.assert_array_equal(together, np.stack(one_by_one))
    # and each equals the batch path's value for the same candle
    batch = compute_history(btc_week).set_index("timestamp_ms")
    for window, values in zip(windows, together, strict=True):
        assert window.last is not None
        np.testing.assert_allclose(
            values, batch.loc[window.last.open_time_ms, list(FEATURE_NAMES)].to_numpy(float), rtol=1e-9, atol=1e-12
        )
