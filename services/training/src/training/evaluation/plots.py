"""PNG artifacts: predicted versus actual returns, and the backtest equity curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.evaluation.measures import Backtest

_MAX_POINTS = 20_000  # a scatter of a year of minutes says nothing more than a sample of it


def predicted_vs_actual(actual: np.ndarray, predicted: np.ndarray, title: str, path: Path) -> Path:
    from matplotlib.figure import Figure  # object API: no global pyplot state, no display needed

    step = max(1, len(actual) // _MAX_POINTS)
    figure = Figure(figsize=(10, 4.5))
    scatter, series = figure.subplots(1, 2)
    scatter.scatter(actual[::step], predicted[::step], s=3, alpha=0.3)
    limit = float(np.nanmax(np.abs(actual))) if len(actual) else 1.0
    scatter.plot([-limit, limit], [-limit, limit], color="grey", linewidth=0.8, label="perfect")
    scatter.axhline(0, color="red", linewidth=0.8, label="persistence")
    scatter.set_xlabel("actual log return")
    scatter.set_ylabel("predicted log return")
    scatter.legend(loc="upper left")
    tail = slice(max(0, len(actual) - 500), len(actual))
    series.plot(actual[tail], linewidth=0.7, label="actual")
    series.plot(predicted[tail], linewidth=0.9, label="predicted")
    series.set_xlabel("last test rows")
    series.legend(loc="upper left")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    return path


def equity_curve(backtest: Backtest, title: str, path: Path) -> Path:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4))
    axes = figure.subplots()
    axes.plot(backtest.equity, label=f"long/flat ({backtest.strategy_return:+.2%})")
    axes.plot(backtest.buy_and_hold_equity, label=f"buy and hold ({backtest.buy_and_hold_return:+.2%})")
    axes.set_xlabel("test candles")
    axes.set_ylabel("equity")
    axes.legend(loc="upper left")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    return path
