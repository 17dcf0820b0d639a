"""Tabular models: scikit-learn's Ridge, Lasso and Huber regressions, and LightGBM.

They see what the MLP sees (the newest scaled feature vector, lag 1) and predict the
scaled return of every horizon, so the same scaler, shrinkage, evaluation and gate apply.
The one knob that matters (the linear models' penalty) is picked on the validation
part; LightGBM stops adding trees when validation stops improving.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import structlog

from tickcast.model_bundle.flavours import LIGHTGBM, SKLEARN, tabular_frame
from training.models import FitReport, TrainingArrays

log = structlog.get_logger(__name__)

TABULAR_KINDS = ("ridge", "lasso", "huber", "lightgbm")
# The penalty grids, in units of the scaled targets (standardised features and returns).
PENALTIES = {
    "ridge": (0.1, 1.0, 10.0, 100.0, 1000.0, 10_000.0, 100_000.0),
    "lasso": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2),
    "huber": (1e-4, 1e-2, 1.0, 100.0),
}
LIGHTGBM_MAX_TREES = 400
LIGHTGBM_PATIENCE = 25


def flavour_of(kind: str, n_horizons: int) -> str:
    """LightGBM keeps its own flavour for one horizon; several horizons wrap one booster each in
    scikit-learn's MultiOutputRegressor, which is stored as a scikit-learn model."""
    return LIGHTGBM if kind == "lightgbm" and n_horizons == 1 else SKLEARN


def fit_tabular(
    kind: str, train: TrainingArrays, validation: TrainingArrays, feature_names: Sequence[str], seed: int
) -> tuple[Any, FitReport]:
    """Fit ``kind`` on the training arrays; the returned model predicts (n, n_horizons) scaled returns."""
    started = time.monotonic()
    x_train, x_val = tabular_frame(train.windows, feature_names), tabular_frame(validation.windows, feature_names)
    if kind == "lightgbm":
        model, trees = _fit_lightgbm(x_train, train.returns, x_val, validation.returns, seed)
        val_mae = _validation_mae(model, x_val, validation.returns)
        report = FitReport(trees, trees, val_mae, time.monotonic() - started, "early_stopping")
    elif kind in PENALTIES:
        candidates = [
            (_fit_linear(kind, penalty, x_train, train.returns, seed), penalty) for penalty in PENALTIES[kind]
        ]
        scored = [(_validation_mae(model, x_val, validation.returns), penalty, model) for model, penalty in candidates]
        val_mae, penalty, model = min(scored, key=lambda item: item[0])
        log.info("penalty chosen on validation", kind=kind, penalty=penalty, validation_mae=round(val_mae, 5))
        report = FitReport(len(scored), PENALTIES[kind].index(penalty) + 1, val_mae, time.monotonic() - started,
                           f"penalty={penalty:g}")
    else:
        raise ValueError(f"unknown tabular model kind {kind!r}")
    log.info("model fitted", model=kind, **report.__dict__)
    return model, report


def _targets(returns: np.ndarray) -> np.ndarray:
    return returns[:, 0] if returns.shape[1] == 1 else returns


def _fit_linear(kind: str, penalty: float, x: Any, returns: np.ndarray, seed: int) -> Any:
    from sklearn.linear_model import HuberRegressor, Lasso, Ridge
    from sklearn.multioutput import MultiOutputRegressor

    if kind == "ridge":
        return Ridge(alpha=penalty).fit(x, _targets(returns))
    if kind == "lasso":
        return Lasso(alpha=penalty, max_iter=5000, random_state=seed).fit(x, _targets(returns))
    # Huber: returns are fat-tailed, so a few jumps should not steer the line (as the networks' loss).
    huber = HuberRegressor(alpha=penalty, epsilon=1.35, max_iter=500)
    return (huber if returns.shape[1] == 1 else MultiOutputRegressor(huber)).fit(x, _targets(returns))


def _fit_lightgbm(x: Any, returns: np.ndarray, x_val: Any, val_returns: np.ndarray, seed: int) -> tuple[Any, int]:
    import lightgbm

    def booster(trees: int) -> Any:
        # Small leaves and many rows per leaf: minute returns are mostly noise.
        return lightgbm.LGBMRegressor(
            n_estimators=trees, learning_rate=0.03, num_leaves=15, min_child_samples=200,
            subsample=0.8, subsample_freq=1, colsample_bytree=0.8, reg_lambda=1.0,
            objective="huber", alpha=1.0, random_state=seed, n_jobs=1, verbose=-1,
        )

    if returns.shape[1] == 1:
        model = booster(LIGHTGBM_MAX_TREES).fit(
            x, returns[:, 0], eval_X=(x_val,), eval_y=(val_returns[:, 0],), eval_metric="l1",
            callbacks=[lightgbm.early_stopping(LIGHTGBM_PATIENCE, first_metric_only=True, verbose=False)],
        )
        return model, int(model.best_iteration_ or LIGHTGBM_MAX_TREES)
    from sklearn.multioutput import MultiOutputRegressor

    # Several horizons: the primary horizon's early-stopped tree count for every one of them.
    _, trees = _fit_lightgbm(x, returns[:, :1], x_val, val_returns[:, :1], seed)
    return MultiOutputRegressor(booster(trees)).fit(x, returns), trees


def _validation_mae(model: Any, x_val: Any, val_returns: np.ndarray) -> float:
    predicted = np.asarray(model.predict(x_val), dtype=np.float64).reshape(len(x_val), -1)
    return float(np.mean(np.abs(predicted - val_returns)))
