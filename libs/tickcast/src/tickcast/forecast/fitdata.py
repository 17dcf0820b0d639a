"""What a forecaster is fitted on: a symbol's history, its horizon targets, and which rows to use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tickcast.forecast.history import History
from tickcast.forecast.targets import HorizonTargets


@dataclass(frozen=True)
class FitData:
    history: History  # series form: one output per row
    targets: HorizonTargets
    rows: np.ndarray  # indices of the rows to fit on, oldest first

    @property
    def horizon(self) -> int:
        return self.targets.horizon

    def per_candle_variance(self) -> np.ndarray:
        """Realized variance over the horizon per candle at the fit rows (the unit variances are forecast in)."""
        return self.targets.realized_variance[self.rows] / self.horizon

    def log_return(self) -> np.ndarray:
        return self.targets.log_return[self.rows]

    def last_days(self, days: float) -> np.ndarray:
        """The fit rows of the trailing ``days`` days."""
        times = self.history.as_of()[self.rows]
        return self.rows[times >= times[-1] - days * 86_400_000]
