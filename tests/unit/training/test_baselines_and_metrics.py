"""Baselines, error metrics, directional accuracy with its interval, and the backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.evaluation.baselines import ema_drift, persistence
from training.evaluation.measures import backtest_long_flat, directional_accuracy, evaluate, wilson_interval


def test_persistence_predicts_no_change() -> None:
    assert persistence(3, [5, 15]).tolist() == [[0.0, 0.0]] * 3


def test_ema_drift_uses_only_the_past_and_scales_with_horizon() -> None:
    closes = np.exp(np.cumsum([0.0, 0.01, 0.01, 0.01, -0.5]))
    frame = pd.DataFrame({"symbol": ["A"] * 5 + ["B"] * 5, "close": np.concatenate([closes, closes])})
    drift = ema_drift(frame, np.arange(10), [1, 5], span=3)
    alpha = 2 / (3 + 1)
    expected = [0.0, alpha * 0.01, alpha * 0.01 * (2 - alpha), None, None]
    np.testing.assert_allclose(drift[:3, 0], expected[:3])
    np.testing.assert_allclose(drift[:, 1], 5 * drift[:, 0])
    # The crash at row 4 does not change the forecast made at row 3.
    assert drift[3, 0] > 0 and drift[4, 0] < 0
    np.testing.assert_allclose(drift[5:], drift[:5])  # symbol B starts afresh


def test_wilson_interval_contains_the_rate_and_narrows_with_n() -> None:
    low, high = wilson_interval(60, 100)
    assert low < 0.6 < high
    assert (low, high) == pytest.approx((0.502, 0.691), abs=1e-3)
    wide, narrow = wilson_interval(6, 10), wilson_interval(600, 1000)
    assert wide[1] - wide[0] > narrow[1] - narrow[0]


def test_directional_accuracy_ignores_zero_rows() -> None:
    accuracy, low, high, n = directional_accuracy(np.array([1.0, -1.0, 1.0, 0.0]), np.array([2.0, 1.0, 0.0, 3.0]))
    assert (accuracy, n) == (0.5, 2)
    assert low < 0.5 < high


def test_backtest_pays_fees_and_beats_hold_only_with_foresight() -> None:
    next_returns = np.array([0.01, -0.02, 0.01, -0.02, 0.01])
    symbols = np.array(["A"] * 5)
    perfect = backtest_long_flat(next_returns, next_returns, symbols, fee_bps=0.0)
    assert perfect.strategy_return == pytest.approx(np.expm1(0.03))
    assert perfect.buy_and_hold_return == pytest.approx(np.expm1(-0.01))
    assert perfect.trades == 5 and perfect.exposure == pytest.approx(0.6)
    with_fees = backtest_long_flat(next_returns, next_returns, symbols, fee_bps=10.0)
    fee = -np.log1p(-0.001)
    assert with_fees.strategy_return == pytest.approx(np.expm1(0.03 - 5 * fee))
    # A forecast below the fee never trades.
    assert backtest_long_flat(np.full(5, 0.0005), next_returns, symbols, 10.0).trades == 0


def test_evaluate_reports_skill_against_persistence() -> None:
    rng = np.random.default_rng(0)
    actual = rng.normal(0, 0.001, (500, 2))
    half_way = actual * 0.5
    result = evaluate(half_way, actual, [5, 15], rng.normal(0, 0.001, 500), np.array(["A"] * 500), 10.0)
    assert result.mae == pytest.approx(result.mae_persistence / 2)
    assert result.skill == pytest.approx(0.5)
    assert result.directional_accuracy == 1.0
    assert result.mae_by_horizon[15] == pytest.approx(np.mean(np.abs(actual[:, 1])) / 2)
    metrics = result.metrics()
    assert metrics["test_skill"] == pytest.approx(0.5) and "test_mae_h15" in metrics
    with pytest.raises(ValueError):
        evaluate(half_way[:, :1], actual, [5, 15], actual[:, 0], np.array(["A"] * 500), 10.0)
