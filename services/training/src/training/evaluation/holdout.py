"""Score a registered model on any period (e.g. newly backfilled prices it never saw), against the baselines.

Every row of the period is scored (no split: the model is already trained); the
champion gate's significance test against persistence is reported with the metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from training.evaluation.baselines import ema_drift, persistence
from training.data.dataset import NEXT_RETURN_COLUMN, add_labels, build_samples, single_feature_set_version
from training.evaluation.measures import Evaluation, evaluate
from tickcast.diebold_mariano import DieboldMariano, diebold_mariano
from training.evaluation.report import ReportRow, comparison_table
from tickcast.serving import ServableModel


@dataclass(frozen=True)
class HoldoutResult:
    rows: list[ReportRow]
    versus_persistence: DieboldMariano
    feature_set_version: str
    table: str

    @property
    def model(self) -> Evaluation:
        return self.rows[-1].evaluation


def evaluate_on_period(
    model: ServableModel, frame: pd.DataFrame, interval_ms: int, ema_span: int, fee_bps: float
) -> HoldoutResult:
    missing = sorted(set(model.feature_names) - set(frame.columns))
    if missing:
        raise ValueError(f"{model.name} v{model.version} needs features missing from this period: {missing}")
    labelled = add_labels(frame, [model.horizon], model.dead_band, interval_ms)
    samples = build_samples(
        labelled, model.feature_names, [model.horizon], model.lag_window, interval_ms,
        np.ones(len(labelled), dtype=bool),
    )
    if len(samples) == 0:
        raise ValueError("no complete windows with known outcomes in this period")
    next_returns = labelled[NEXT_RETURN_COLUMN].to_numpy()[samples.rows]
    symbols = labelled["symbol"].to_numpy()[samples.rows]

    def scored(predicted: np.ndarray) -> Evaluation:
        return evaluate(predicted, samples.targets, [model.horizon], next_returns, symbols, fee_bps)

    predicted = model.predict(samples.windows)[:, None]
    rows = [
        ReportRow("persistence", scored(persistence(len(samples), [model.horizon]))),
        ReportRow("ema_drift", scored(ema_drift(labelled, samples.rows, [model.horizon], ema_span))),
        ReportRow(model.kind or "model", scored(predicted), version=model.version),
    ]
    test = diebold_mariano(np.abs(predicted[:, 0] - samples.targets[:, 0]), np.abs(samples.targets[:, 0]), model.horizon)
    return HoldoutResult(rows, test, single_feature_set_version(labelled), comparison_table(rows))
