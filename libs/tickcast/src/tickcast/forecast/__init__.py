"""Distribution, volatility and direction-probability forecasts of a horizon's log return.

One definition, shared by training (fit, evaluate, gate) and inference (serve): the targets
(``targets``), what a forecast is conditioned on (``history``), the baselines
(``baselines``), the learned forecasters (``learned``), the scores (``scoring``) and the
served set of one forecaster per target and horizon (``forecaster_set``).
"""

from tickcast.forecast.quantiles import INTERVALS, LEVELS

DEFAULT_HORIZONS = (1, 5, 15, 60)

__all__ = ["DEFAULT_HORIZONS", "INTERVALS", "LEVELS"]
