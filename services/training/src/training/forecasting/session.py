"""A forecasting session: fit every baseline and model per horizon on a chronological split, score
them all on the same test rows, gate each target, and build the served set.

Split: the oldest rows fit, the next ones validate (the learned models' calibration), the last
ones test; rows whose horizon reaches into the next part are left out (a gap of max(H) candles).
Baselines are fitted on the fit and validation rows together (they have nothing to calibrate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import structlog

from tickcast.forecast import baselines as base
from tickcast.forecast import learned
from tickcast.forecast.fitdata import FitData
from tickcast.forecast.forecaster_set import ForecasterSet, ServedForecaster

from training.forecasting.data import PooledCloses
from training.forecasting.decision import TargetDecision, decide_target
from training.forecasting.scoring_table import LAST_HOUR, HorizonScores, horizon_table, score_horizon

log = structlog.get_logger(__name__)

TARGETS = ("distribution", "volatility", "probability")


@dataclass(frozen=True)
class ForecastSettings:
    horizons: tuple[int, ...] = (1, 5, 15, 60)
    dead_band: float = 0.0005
    validation_fraction: float = 0.15
    test_fraction: float = 0.15
    margin: float = 0.0  # relative loss improvement over the best baseline a model needs
    alpha: float = 0.05
    coverage_tolerance: float = 0.02  # 80% / 90% coverage within ±2 points of nominal
    volatility_margin: float = 0.02  # a volatility forecaster other than the last hour's must beat it by 2%
    climatology_days: float = 30.0
    neural: bool = True  # also fit the TensorFlow forecasters (a few seconds per horizon)
    seed: int = 42


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    validation_start_ms: int
    test_start_ms: int


def chronological_split(pooled: PooledCloses, settings: ForecastSettings) -> Split:
    times = pooled.times
    known = np.flatnonzero(np.isfinite(pooled.grid.closes))
    first, last = int(times[known].min()), int(times[known].max())
    span = last - first
    validation_start = first + int(span * (1 - settings.validation_fraction - settings.test_fraction))
    test_start = first + int(span * (1 - settings.test_fraction))
    gap = max(settings.horizons) * pooled.interval_ms
    t = times[known]
    return Split(known[t < validation_start - gap], known[(t >= validation_start) & (t < test_start - gap)],
                 known[t >= test_start], validation_start, test_start)


def fit_horizon(pooled: PooledCloses, horizon: int, split: Split, settings: ForecastSettings
                ) -> dict[str, dict[str, tuple[Any, bool]]]:
    """target -> name -> (forecaster, is_model), baselines first."""
    targets = pooled.targets(horizon)
    train = FitData(pooled.history, targets, split.train)
    validation = FitData(pooled.history, targets, split.validation)
    before_test = FitData(pooled.history, targets, np.concatenate([split.train, split.validation]))
    last_hour = base.LastHourVolatility.fit(before_test)
    log_har = base.LogHarVolatility.fit(before_test)
    garch = base.GarchVolatility.fit(before_test)
    garch_input = base.GarchVolatility.fit(train)  # the model's own input sees the training rows only
    har_features = learned.HarFeaturesVolatility.fit(
        train, validation, (garch_input.omega, garch_input.alpha, garch_input.beta))
    fitted = {
        "volatility": {"last_hour": (last_hour, False), "log_har": (log_har, False), "garch": (garch, False),
                       "har_features": (har_features, True)},
        "distribution": {
            "climatology": (base.ClimatologicalQuantiles.fit(before_test, settings.climatology_days), False),
            "student_t": (base.ScaledStudentT.fit(before_test, last_hour), False),
            "standardized_quantiles": (learned.StandardizedQuantiles.fit(validation, har_features), True),
        },
        "probability": {
            "trailing_frequency": (base.TrailingFrequency.fit(before_test, settings.dead_band,
                                                              settings.climatology_days), False),
            "vol_conditional": (learned.VolConditionalProbability.fit(validation, har_features, settings.dead_band),
                                True),
        },
    }
    if settings.neural:
        from training.forecasting.tf_models import fit_mlp_quantiles, fit_mlp_volatility

        fitted["volatility"]["mlp_volatility"] = (
            fit_mlp_volatility(har_features, train, validation, settings.seed), True)
        fitted["distribution"]["mlp_quantiles"] = (
            fit_mlp_quantiles(har_features, har_features, train, validation, settings.seed), True)
    return fitted


@dataclass(frozen=True)
class ForecastSession:
    forecaster_set: ForecasterSet
    scores: dict[int, HorizonScores]
    decisions: list[TargetDecision]
    table: str
    split: Split


def run_forecast_session(pooled: PooledCloses, settings: ForecastSettings, interval: str, name: str
                         ) -> ForecastSession:
    split = chronological_split(pooled, settings)
    if min(len(split.train), len(split.validation), len(split.test)) < 100:
        raise ValueError(f"too few rows to fit, validate and test: {len(split.train)}, {len(split.validation)}, "
                         f"{len(split.test)} (give a longer period)")
    served: dict[int, dict[str, ServedForecaster]] = {}
    fitted_baselines: dict[int, dict[str, dict[str, Any]]] = {}
    scores: dict[int, HorizonScores] = {}
    decisions: list[TargetDecision] = []
    tables = []
    for horizon in settings.horizons:
        forecasters = fit_horizon(pooled, horizon, split, settings)
        scored = score_horizon(pooled.history, pooled.targets(horizon), split.test, forecasters, settings.dead_band)
        scores[horizon] = scored
        served[horizon], fitted_baselines[horizon] = {}, {}
        chosen = {}
        for target in TARGETS:
            candidates = scored.scored(target)
            decision = decide_target(
                target, horizon, [s for s in candidates if not s.is_model], [s for s in candidates if s.is_model],
                settings.margin, settings.alpha, settings.coverage_tolerance,
                reference=LAST_HOUR if target == "volatility" else None,
                reference_margin=settings.volatility_margin)
            decisions.append(decision)
            forecaster, is_model = forecasters[target][decision.served]
            served[horizon][target] = ServedForecaster(target, horizon, is_model, forecaster)
            fitted_baselines[horizon][target] = {n: f for n, (f, m) in forecasters[target].items() if not m}
            chosen[target] = decision.served
            log.info("forecast gate", horizon=horizon, target=target, served=decision.served,
                     model=decision.served_is_model, reason=decision.reason)
        tables.append(horizon_table(scored, chosen))
    info = {
        "symbols": pooled.symbols, "source": pooled.source,
        "validation_start_ms": split.validation_start_ms, "test_start_ms": split.test_start_ms,
        "decisions": [{"horizon": d.horizon, "target": d.target, "served": d.served, "model": d.served_is_model,
                       "best_baseline": d.best_baseline, "reason": d.reason} for d in decisions],
        "test_metrics": {k: v for s in scores.values() for k, v in s.metrics().items()},
    }
    forecaster_set = ForecasterSet(interval, pooled.interval_ms, settings.dead_band, served, name, "0", info,
                                   fitted_baselines)
    return ForecastSession(forecaster_set, scores, decisions, summary(decisions) + "\n\n" + "\n\n".join(tables), split)


def summary(decisions: list[TargetDecision]) -> str:
    lines = ["served per horizon and target (* in the tables):"]
    for d in decisions:
        who = f"model {d.served}" if d.served_is_model else f"baseline {d.served}"
        lines.append(f"  h{d.horizon:<3} {d.target:<13} {who:<32} {d.reason}")
    return "\n".join(lines)


def evaluate_set(forecaster_set: ForecasterSet, pooled: PooledCloses) -> tuple[dict[int, HorizonScores], str]:
    """The registered set's served forecasters and its fitted baselines on every row of a (later) period."""
    rows = np.flatnonzero(np.isfinite(pooled.grid.closes))
    rows = rows[pooled.times[rows] >= pooled.times[rows].min() + 86_400_000]  # after a day of history
    scores, tables = {}, []
    for horizon in forecaster_set.horizons:
        forecasters: dict[str, dict[str, tuple[Any, bool]]] = {}
        chosen = {}
        for target in TARGETS:
            forecasters[target] = {n: (f, False) for n, f in forecaster_set.baselines.get(horizon, {})
                                   .get(target, {}).items()}
            served = forecaster_set.served[horizon][target]
            forecasters[target][served.kind] = (served.forecaster, served.is_model)
            chosen[target] = served.kind
        scored = score_horizon(pooled.history, pooled.targets(horizon), rows, forecasters, forecaster_set.dead_band)
        scores[horizon] = scored
        tables.append(horizon_table(scored, chosen) + "\n" + verdict(scored, chosen))
    return scores, "\n\n".join(tables)


def verdict(scores: HorizonScores, served: dict[str, str], tolerance: float = 0.02) -> str:
    """Per target: is the served forecaster at least as good as that target's best baseline on these rows?"""
    lines = []
    for target in TARGETS:
        pairs = getattr(scores, target)
        best = min((s for s, _ in pairs.values() if not s.is_model and s.name != served[target]),
                   key=lambda s: s.loss, default=None)
        mine = pairs[served[target]][0]
        extra = ""
        if target == "distribution":
            cov = pairs[served[target]][1].intervals
            ok = all(abs(cov[n].coverage - n) <= tolerance for n in (0.8, 0.9))
            extra = f"; 80%/90% coverage {cov[0.8].coverage:.3f}/{cov[0.9].coverage:.3f} ({'within' if ok else 'NOT within'} ±{tolerance:g})"
        if best is None:
            lines.append(f"  check {target}: served {mine.name} (no other baseline){extra}")
            continue
        ok = mine.loss <= best.loss
        lines.append(f"  check {target}: served {mine.name} loss {mine.loss:.6g} vs best other baseline {best.name} "
                     f"{best.loss:.6g}: {'ok' if ok else 'WORSE'}{extra}")
    return "\n".join(lines)
