"""Test-part metrics: errors, skill versus persistence, direction, and a fee-paying backtest."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from training.data.dataset import DIRECTIONS

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Backtest:
    """Long/flat on the primary forecast, one candle at a time, paying a fee per position change."""

    strategy_return: float  # total simple return, mean over symbols
    buy_and_hold_return: float
    trades: int  # position changes
    exposure: float  # fraction of candles held long
    equity: np.ndarray  # strategy equity of the first symbol, starting at 1
    buy_and_hold_equity: np.ndarray


@dataclass(frozen=True)
class Evaluation:
    n: int
    mae: float
    rmse: float
    mae_persistence: float
    rmse_persistence: float
    skill: float  # 1 - MAE / MAE_persistence: above 0 beats "no change"
    directional_accuracy: float
    directional_ci_low: float
    directional_ci_high: float
    directional_n: int
    mae_by_horizon: dict[int, float]
    backtest: Backtest

    def metrics(self, prefix: str = "test_") -> dict[str, float]:
        values = {
            "n": float(self.n),
            "mae": self.mae,
            "rmse": self.rmse,
            "mae_persistence": self.mae_persistence,
            "rmse_persistence": self.rmse_persistence,
            "skill": self.skill,
            "directional_accuracy": self.directional_accuracy,
            "directional_ci_low": self.directional_ci_low,
            "directional_ci_high": self.directional_ci_high,
            "strategy_return": self.backtest.strategy_return,
            "buy_and_hold_return": self.backtest.buy_and_hold_return,
            "trades": float(self.backtest.trades),
            "exposure": self.backtest.exposure,
        }
        values.update({f"mae_h{horizon}": mae for horizon, mae in self.mae_by_horizon.items()})
        return {f"{prefix}{key}": float(value) for key, value in values.items()}


def mae(predicted: np.ndarray, actual: np.ndarray) -> float:
    return float(np.mean(np.abs(predicted - actual)))


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    return float(np.sqrt(np.mean((predicted - actual) ** 2)))


def skill(model_mae: float, persistence_mae: float) -> float:
    return 1.0 - model_mae / persistence_mae if persistence_mae > 0 else float("nan")


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion: sane at small n and near 0 or 1."""
    if trials == 0:
        return float("nan"), float("nan")
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return centre - half, centre + half


def directional_accuracy(predicted: np.ndarray, actual: np.ndarray) -> tuple[float, float, float, int]:
    """Share of rows where the forecast has the sign of the outcome, with its 95% interval.

    Rows where either is exactly zero say nothing about direction and are left out.
    """
    informative = (predicted != 0) & (actual != 0)
    trials = int(informative.sum())
    hits = int((np.sign(predicted[informative]) == np.sign(actual[informative])).sum())
    low, high = wilson_interval(hits, trials)
    return (hits / trials if trials else float("nan")), low, high, trials


def backtest_long_flat(
    predicted: np.ndarray, next_returns: np.ndarray, symbols: np.ndarray, fee_bps: float
) -> Backtest:
    """Hold one unit long while the forecast exceeds one fee, else stay flat; rows in time order per symbol.

    ``next_returns`` are one-candle forward log returns, what a position taken at a row earns.
    Buy-and-hold pays one entry fee.
    """
    fee = fee_bps / 10_000
    log_fee = -math.log1p(-fee) if fee < 1 else float("inf")
    strategy_totals, hold_totals, trades, held, equity, hold_equity = [], [], 0, 0, np.ones(1), np.ones(1)
    for index, symbol in enumerate(dict.fromkeys(symbols)):
        mine = symbols == symbol
        returns = np.nan_to_num(next_returns[mine])
        position = (predicted[mine] > fee).astype(np.float64)
        changes = np.abs(np.diff(np.concatenate([[0.0], position])))
        strategy_log = np.cumsum(position * returns - changes * log_fee)
        hold_log = np.cumsum(returns) - log_fee
        strategy_totals.append(math.expm1(strategy_log[-1]))
        hold_totals.append(math.expm1(hold_log[-1]))
        trades += int(changes.sum())
        held += int(position.sum())
        if index == 0:
            equity, hold_equity = np.exp(strategy_log), np.exp(hold_log)
    return Backtest(
        strategy_return=float(np.mean(strategy_totals)) if strategy_totals else float("nan"),
        buy_and_hold_return=float(np.mean(hold_totals)) if hold_totals else float("nan"),
        trades=trades,
        exposure=held / len(predicted) if len(predicted) else float("nan"),
        equity=equity,
        buy_and_hold_equity=hold_equity,
    )


def evaluate(
    predicted: np.ndarray,
    actual: np.ndarray,
    horizons: Sequence[int],
    next_returns: np.ndarray,
    symbols: np.ndarray,
    fee_bps: float,
) -> Evaluation:
    """Metrics of ``predicted`` (n, n_horizons) log returns against ``actual``; the first horizon is primary."""
    if predicted.shape != actual.shape or len(actual) == 0:
        raise ValueError(f"predictions {predicted.shape} and outcomes {actual.shape} must match and be non-empty")
    primary, outcome = predicted[:, 0], actual[:, 0]
    zero = np.zeros_like(outcome)
    accuracy, low, high, trials = directional_accuracy(primary, outcome)
    model_mae, persistence_mae = mae(primary, outcome), mae(zero, outcome)
    return Evaluation(
        n=len(outcome),
        mae=model_mae,
        rmse=rmse(primary, outcome),
        mae_persistence=persistence_mae,
        rmse_persistence=rmse(zero, outcome),
        skill=skill(model_mae, persistence_mae),
        directional_accuracy=accuracy,
        directional_ci_low=low,
        directional_ci_high=high,
        directional_n=trials,
        mae_by_horizon={h: mae(predicted[:, i], actual[:, i]) for i, h in enumerate(horizons)},
        backtest=backtest_long_flat(primary, next_returns, symbols, fee_bps),
    )


def direction_report(true_classes: np.ndarray, predicted_classes: np.ndarray) -> str:
    """scikit-learn's classification report of the direction head (down / flat / up)."""
    from sklearn.metrics import classification_report

    return str(
        classification_report(
            true_classes, predicted_classes, labels=[0, 1, 2], target_names=list(DIRECTIONS), zero_division=0
        )
    )
