"""Targets, history windows, baselines, learned forecasters and scores on data with known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tickcast.forecast import baselines as base
from tickcast.forecast import learned
from tickcast.forecast.fitdata import FitData
from tickcast.forecast.forecaster_set import ForecasterSet, ServedForecaster
from tickcast.forecast.history import History
from tickcast.forecast.quantiles import LEVELS, interval, monotone
from tickcast.forecast.scoring import (
    brier_rows,
    pinball_rows,
    qlike_rows,
    score_distribution,
    score_probability,
)
from tickcast.forecast.targets import CloseGrid, horizon_targets

MINUTE = 60_000
START = 1_704_067_200_000  # 2024-01-01T00:00Z


def garch_series(n: int, omega: float, alpha: float, beta: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Returns simulated from a GARCH(1,1) and the true one-step variance of each (known by construction)."""
    rng = np.random.default_rng(seed)
    variance = np.empty(n)
    returns = np.empty(n)
    variance[0] = omega / (1 - alpha - beta)
    for t in range(n):
        if t:
            variance[t] = omega + alpha * returns[t - 1] ** 2 + beta * variance[t - 1]
        returns[t] = np.sqrt(variance[t]) * rng.standard_normal()
    return returns, variance


def grid_of(returns: np.ndarray) -> CloseGrid:
    closes = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))
    return CloseGrid(START + MINUTE * np.arange(len(closes)), closes, MINUTE)


def test_targets_have_the_known_values_and_a_missing_candle_gives_no_target() -> None:
    closes = np.array([100.0, 101.0, 99.0, np.nan, 100.0, 102.0])
    grid = CloseGrid(START + MINUTE * np.arange(6), closes, MINUTE)
    two = horizon_targets(grid, 2)
    assert two.log_return[0] == pytest.approx(np.log(99 / 100))
    r1, r2 = np.log(101 / 100), np.log(99 / 101)
    assert two.realized_vol[0] == pytest.approx(np.sqrt(r1**2 + r2**2))
    assert np.isnan(two.log_return[1]) and np.isnan(two.realized_vol[1])  # reaches the missing candle
    assert np.isnan(two.realized_vol[2]) and two.log_return[2] == pytest.approx(np.log(100 / 99))
    assert np.isnan(two.log_return[4]) and np.isnan(two.log_return[5])  # beyond the data
    assert list(two.up(0.005)[[0, 2]]) == [0.0, 1.0] and list(two.down(0.005)[[0, 2]]) == [1.0, 0.0]


def test_a_grid_from_rows_with_a_gap_places_nan_in_the_gap() -> None:
    import pandas as pd

    frame = pd.DataFrame({"timestamp_ms": [START, START + MINUTE, START + 3 * MINUTE], "close": [1.0, 2.0, 4.0]})
    grid = CloseGrid.from_frame(frame, MINUTE)
    assert len(grid) == 4 and np.isnan(grid.closes[2]) and grid.closes[3] == 4.0


def test_window_form_gives_the_series_form_at_each_windows_last_row() -> None:
    returns, _ = garch_series(4000, 1e-7, 0.08, 0.9, seed=3)
    times = START + MINUTE * np.arange(len(returns))
    series = History.series(returns, times, MINUTE)
    ends = np.array([1500, 2222, 3999])
    windows = History.windows(np.vstack([returns[e - 1440:e + 1] for e in ends]), times[ends], MINUTE)
    for window in (1, 5, 60, 1440):
        assert np.allclose(windows.trailing_variance(window), series.trailing_variance(window)[ends])
    assert np.allclose(windows.trailing_return(60), series.trailing_return(60)[ends])
    assert np.array_equal(windows.as_of(), times[ends])
    # A GARCH recursion forgets its start: a day of returns is enough to agree with the whole history.
    assert np.allclose(windows.garch_variance(1e-7, 0.08, 0.9), series.garch_variance(1e-7, 0.08, 0.9)[ends])


def test_garch_recursion_matches_a_loop_and_the_fit_recovers_the_true_parameters() -> None:
    omega, alpha, beta = 2e-7, 0.1, 0.85
    returns, true_variance = garch_series(30_000, omega, alpha, beta, seed=1)
    times = START + MINUTE * np.arange(len(returns))
    history = History.series(returns, times, MINUTE)
    # garch_variance(row t) is the variance of candle t+1
    filtered = history.garch_variance(omega, alpha, beta)
    assert np.allclose(filtered[100:-1], true_variance[101:], rtol=1e-6)

    grid = grid_of(returns)
    data = FitData(History.series(grid.returns, grid.timestamps_ms, MINUTE), horizon_targets(grid, 1),
                   np.arange(1, len(grid) - 1))
    fitted = base.GarchVolatility.fit(data)
    assert fitted.alpha == pytest.approx(alpha, abs=0.03)
    assert fitted.beta == pytest.approx(beta, abs=0.05)


def test_on_garch_data_the_garch_forecast_beats_the_last_hour_and_the_truth_beats_both() -> None:
    omega, alpha, beta = 5e-7, 0.1, 0.85
    returns, _ = garch_series(40_000, omega, alpha, beta, seed=2)
    grid = grid_of(returns)
    history = History.series(grid.returns, grid.timestamps_ms, MINUTE)
    targets = horizon_targets(grid, 5)
    train, test = np.arange(1, 30_000), np.arange(30_100, len(grid) - 6)
    data = FitData(history, targets, train)
    realized = targets.realized_variance[test] / 5
    keep = realized > 0
    losses = {}
    for name, forecaster in {"garch": base.GarchVolatility.fit(data), "last_hour": base.LastHourVolatility.fit(data),
                             "truth": base.GarchVolatility(5, omega, alpha, beta)}.items():
        losses[name] = qlike_rows(forecaster.variance(history)[test][keep], realized[keep]).mean()
    assert losses["truth"] <= losses["garch"] + 1e-3
    assert losses["garch"] < losses["last_hour"]


def test_scores_have_their_known_values() -> None:
    quantiles = np.tile(np.array(LEVELS) - 0.5, (4, 1))  # the quantiles of a uniform(-0.5, 0.5)
    outcome = np.array([0.0, 0.3, -0.45, 0.6])
    assert pinball_rows(quantiles, outcome)[0] == pytest.approx(np.mean([min(q, 1 - q) * abs(q - 0.5) for q in LEVELS]))
    scored = score_distribution(quantiles, outcome)
    assert scored.intervals[0.8].coverage == 0.5  # 0.0 and 0.3 inside [-0.4, 0.4]
    assert scored.intervals[0.9].coverage == 0.75 and scored.intervals[0.9].mean_width == pytest.approx(0.9)
    assert scored.pit_observed.sum() == pytest.approx(1.0)
    assert qlike_rows(np.array([2.0]), np.array([2.0]))[0] == 0.0
    assert qlike_rows(np.array([1.0]), np.array([2.0]))[0] > 0 and qlike_rows(np.array([4.0]), np.array([2.0]))[0] > 0
    assert brier_rows(np.array([0.25]), np.array([1.0]))[0] == 0.5625
    table = score_probability(np.array([0.05, 0.05, 0.95, 0.95]), np.array([0.0, 0.0, 1.0, 0.0]))
    assert table.reliability == [(0.05, 0.0, 2), (0.95, 0.5, 2)]


def test_quantiles_never_cross() -> None:
    crossing = np.array([[0.3, 0.1, 0.2, 0.0, 0.5, 0.4, 0.6]])
    sorted_ = monotone(crossing)
    assert np.all(np.diff(sorted_, axis=1) >= 0)
    low, high = interval(sorted_, 0.8)
    assert low[0] == pytest.approx(0.1) and high[0] == pytest.approx(0.5)


def heteroscedastic(n: int, seed: int = 4) -> CloseGrid:
    """Minutes whose volatility follows a slow cycle and a time-of-day profile, with fat (t5) tails."""
    rng = np.random.default_rng(seed)
    minutes = np.arange(n)
    sigma = 1e-3 * np.exp(0.6 * np.sin(minutes / 3000)) * (1 + 0.5 * np.sin(2 * np.pi * minutes / 1440))
    return grid_of(sigma * rng.standard_t(5, n) / np.sqrt(5 / 3))


def test_learned_forecasters_are_calibrated_on_unseen_rows_and_survive_json() -> None:
    grid = heteroscedastic(60_000)
    history = History.series(grid.returns, grid.timestamps_ms, MINUTE)
    targets = horizon_targets(grid, 5)
    train, validation, test = np.arange(1500, 40_000), np.arange(40_100, 48_000), np.arange(48_100, 59_990)
    fit, val = FitData(history, targets, train), FitData(history, targets, validation)
    garch = base.GarchVolatility.fit(fit)
    volatility = learned.HarFeaturesVolatility.fit(fit, val, (garch.omega, garch.alpha, garch.beta))
    distribution = learned.StandardizedQuantiles.fit(val, volatility)
    probability = learned.VolConditionalProbability.fit(val, volatility, dead_band=1e-3)
    outcome = targets.log_return[test]
    scored = score_distribution(distribution.quantiles_for(history)[test], outcome)
    assert scored.intervals[0.8].coverage == pytest.approx(0.8, abs=0.03)
    assert scored.intervals[0.9].coverage == pytest.approx(0.9, abs=0.03)
    climatology = base.ClimatologicalQuantiles.fit(FitData(history, targets, np.concatenate([train, validation])))
    assert scored.pinball < score_distribution(climatology.quantiles_for(history)[test], outcome).pinball
    frequency = base.TrailingFrequency.fit(fit, 1e-3)
    up = targets.up(1e-3)[test]
    assert brier_rows(probability.probabilities_for(history)[test, 0], up).mean() < \
        brier_rows(frequency.probabilities_for(history)[test, 0], up).mean()

    served = {5: {"distribution": ServedForecaster("distribution", 5, True, distribution),
                  "volatility": ServedForecaster("volatility", 5, True, volatility),
                  "probability": ServedForecaster("probability", 5, False, frequency)}}
    original = ForecasterSet("1m", MINUTE, 1e-3, served, "set", "3", {}, {5: {"distribution": {"climatology": climatology}}})
    loaded = ForecasterSet.from_json(json.loads(json.dumps(original.to_json())), "3")
    window = History.windows(grid.returns[None, -1441:], grid.timestamps_ms[-1:], MINUTE)
    before, after = original.forecast(window)[5], loaded.forecast(window)[5]
    assert np.allclose(before.quantiles, after.quantiles) and np.allclose(before.volatility, after.volatility)
    assert np.allclose(before.p_up, after.p_up)
    assert loaded.label(5, "volatility") == "set v3 har_features"
    assert loaded.label(5, "probability") == "baseline trailing_frequency"
    assert np.allclose(loaded.baselines[5]["distribution"]["climatology"].quantiles, climatology.quantiles)
