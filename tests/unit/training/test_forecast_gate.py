"""The per-target gate of the forecasters: a model is served only when it beats the best baseline."""

from __future__ import annotations

import numpy as np

from training.forecasting.decision import Scored, decide_target


def losses(mean: float, n: int = 2000, seed: int = 0) -> np.ndarray:
    return mean + 0.1 * np.random.default_rng(seed).standard_normal(n)


def test_a_model_clearly_better_than_the_best_baseline_is_served() -> None:
    baselines = [Scored("climatology", False, losses(1.2, seed=1)), Scored("student_t", False, losses(1.0, seed=2))]
    model = Scored("quantiles", True, losses(0.9, seed=3), {0.8: 0.805, 0.9: 0.897})
    decision = decide_target("distribution", 5, baselines, [model], 0.0, 0.05, 0.02)
    assert decision.served == "quantiles" and decision.served_is_model
    assert decision.best_baseline == "student_t"
    assert decision.numbers["p_vs_best.quantiles"] < 0.05


def test_a_model_no_better_than_the_best_baseline_leaves_that_baseline_served() -> None:
    same = losses(1.0, seed=2)
    baselines = [Scored("climatology", False, losses(1.2, seed=1)), Scored("student_t", False, same)]
    model = Scored("quantiles", True, same + 0.001 * np.random.default_rng(9).standard_normal(len(same)))
    decision = decide_target("distribution", 5, baselines, [model], 0.0, 0.05, 0.02)
    assert decision.served == "student_t" and not decision.served_is_model


def test_a_better_model_whose_intervals_miss_nominal_coverage_is_not_served() -> None:
    baselines = [Scored("student_t", False, losses(1.0, seed=2), {0.8: 0.80, 0.9: 0.90})]
    model = Scored("quantiles", True, losses(0.8, seed=3), {0.8: 0.77, 0.9: 0.90})
    decision = decide_target("distribution", 5, baselines, [model], 0.0, 0.05, 0.02)
    assert decision.served == "student_t"
    assert "80% coverage 0.770" in decision.reason


def test_a_baseline_that_misses_coverage_gives_way_to_one_that_does_not() -> None:
    baselines = [Scored("climatology", False, losses(0.9, seed=1), {0.8: 0.9, 0.9: 0.96}),
                 Scored("student_t", False, losses(1.0, seed=2), {0.8: 0.81, 0.9: 0.9})]
    decision = decide_target("distribution", 5, baselines, [], 0.0, 0.05, 0.02)
    assert decision.served == "student_t" and decision.best_baseline == "climatology"


def test_volatility_other_than_the_last_hour_needs_a_clear_margin_over_it() -> None:
    last_hour = Scored("last_hour", False, losses(1.0, seed=1))
    # 1% better than the last hour, significantly, but short of the 2% margin
    noise = 0.005 * np.random.default_rng(5).standard_normal(len(last_hour.losses))
    garch = Scored("garch", False, last_hour.losses - 0.01 + noise)
    model = Scored("har", True, last_hour.losses - 0.012 + noise[::-1])
    decision = decide_target("volatility", 5, [last_hour, garch], [model], 0.0, 0.05, 0.02,
                             reference="last_hour", reference_margin=0.02)
    assert decision.served == "last_hour" and not decision.served_is_model
    better = Scored("har", True, last_hour.losses - 0.05 + noise[::-1])
    decision = decide_target("volatility", 5, [last_hour, garch], [better], 0.0, 0.05, 0.02,
                             reference="last_hour", reference_margin=0.02)
    assert decision.served == "har" and decision.served_is_model
    tags = decision.tags()
    assert tags["forecast.h5.volatility.served"] == "har" and "forecast.h5.volatility.loss.last_hour" in tags
