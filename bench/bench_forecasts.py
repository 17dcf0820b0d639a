"""Benchmark: the cost of the distribution forecasts at one boundary of N symbols, beside the point step.

Per round, N symbols' vectors for one candle go through (a) what inference does for the point
forecast today (the persistence baseline's predictions for the batch) and (b) the distribution step
on top (every horizon's quantiles, volatility and p_up from a forecaster set with the learned
forecasters, fitted here on generated GARCH minutes). Printed as p50 / p99 and their ratio, in
wall time and in this process's CPU time (steadier on a shared machine, where other processes' load
lands in the wall-time p99); run on a quiet machine, the absolute times mean little on a shared one.

    uv run python bench/bench_forecasts.py --symbols 1000 --rounds 20
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from inference.distribution import CloseHistories, DistributionAttacher
from inference.forecasting import Forecaster
from inference.model import PersistenceBaseline, ServedModel
from tickcast.contracts import FeatureVector
from tickcast.forecast import baselines as base
from tickcast.forecast import learned
from tickcast.forecast.fitdata import FitData
from tickcast.forecast.forecaster_set import HISTORY_CLOSES, ForecasterSet, ServedForecaster
from tickcast.forecast.history import History
from tickcast.forecast.targets import CloseGrid, horizon_targets

MINUTE = 60_000
START = 1_704_067_200_000
HORIZONS = (1, 5, 15, 60)


def garch_closes(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    omega, alpha, beta = 2e-8, 0.08, 0.9
    variance, returns = omega / (1 - alpha - beta), np.empty(n)
    for t in range(n):
        returns[t] = np.sqrt(variance) * rng.standard_normal()
        variance = omega + alpha * returns[t] ** 2 + beta * variance
    return 100 * np.exp(np.cumsum(returns))


def fitted_set() -> ForecasterSet:
    closes = garch_closes(40_000, 0)
    grid = CloseGrid(START + MINUTE * np.arange(len(closes)), closes, MINUTE)
    history = History.series(grid.returns, grid.timestamps_ms, MINUTE)
    served = {}
    for h in HORIZONS:
        targets = horizon_targets(grid, h)
        train, validation = FitData(history, targets, np.arange(1500, 30_000)), FitData(
            history, targets, np.arange(30_100, 39_900))
        garch = base.GarchVolatility.fit(train)
        volatility = learned.HarFeaturesVolatility.fit(train, validation, (garch.omega, garch.alpha, garch.beta))
        served[h] = {
            "distribution": ServedForecaster("distribution", h, True, learned.StandardizedQuantiles.fit(validation, volatility)),
            "volatility": ServedForecaster("volatility", h, True, volatility),
            "probability": ServedForecaster("probability", h, True,
                                            learned.VolConditionalProbability.fit(validation, volatility, 5e-4)),
        }
    return ForecasterSet("1m", MINUTE, 5e-4, served, "bench", "1")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    symbols = [f"S{i:05d}USDT" for i in range(args.symbols)]
    closes = np.vstack([garch_closes(HISTORY_CLOSES + args.rounds, seed) for seed in range(1, args.symbols + 1)])
    histories = CloseHistories(MINUTE)
    attacher = DistributionAttacher(fitted_set(), histories)
    baseline = PersistenceBaseline(interval="1m", horizon=5)
    point = Forecaster(ServedModel(baseline, START), baseline, 5e-4)

    def vectors(minute: int) -> list[FeatureVector]:
        return [FeatureVector(symbol=s, interval="1m", timestamp_ms=START + minute * MINUTE, feature_set_version="fs",
                              values={"x": 0.0}, close=float(closes[i, minute])) for i, s in enumerate(symbols)]

    for minute in range(HISTORY_CLOSES):
        for vector in vectors(minute):
            histories.push(vector)
    point_s, both_s, point_cpu, both_cpu = [], [], [], []
    for minute in range(HISTORY_CLOSES, HISTORY_CLOSES + args.rounds):
        batch = vectors(minute)
        started, started_cpu = time.perf_counter(), time.process_time()
        forecasts = point.forecast(batch, START + (minute + 1) * MINUTE).forecasts
        pointed, pointed_cpu = time.perf_counter(), time.process_time()
        attached = attacher.attach(batch, [f.prediction for f in forecasts])
        done, done_cpu = time.perf_counter(), time.process_time()
        assert all(p is not None and len(p.forecasts) == len(HORIZONS) for p in attached)
        point_s.append(pointed - started)
        both_s.append(done - started)
        point_cpu.append(pointed_cpu - started_cpu)
        both_cpu.append(done_cpu - started_cpu)
    print(f"{args.symbols} symbols, {args.rounds} boundaries, horizons {HORIZONS}")
    for clock, point_t, both_t in (("wall", point_s, both_s), ("cpu", point_cpu, both_cpu)):
        p50, p99 = np.percentile(point_t, 50) * 1e3, np.percentile(point_t, 99) * 1e3
        b50, b99 = np.percentile(both_t, 50) * 1e3, np.percentile(both_t, 99) * 1e3
        print(f"{clock:4s} point only          p50 {p50:8.1f} ms   p99 {p99:8.1f} ms")
        print(f"{clock:4s} point + all heads   p50 {b50:8.1f} ms   p99 {b99:8.1f} ms   "
              f"ratio p50 {b50 / p50:.1f}x   ratio p99 {b99 / p99:.1f}x")


if __name__ == "__main__":
    main()
