"""The position a forecast asks for: long when its expected edge beats the round-trip fee. Pure logic.

The expected edge is the forecast log return over the prediction's horizon:
- with a distribution forecast for that horizon, the mean of the return quantiles, each weighted by
  the probability mass nearest to it (for the levels 5, 10, 25, 50, 75, 90, 95 %: 7.5, 10, 20, 25,
  20, 10, 7.5 %), and its p_up / p_down must agree with the side;
- without one, the point ``predicted_return``.

A position is entered when the edge exceeds the round-trip fee (2 x the fee per side): the trade
must pay for getting in and out. A position held is kept while the edge keeps its sign (and the
probabilities agree), since keeping it costs nothing. Short positions only when allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from tickcast.contracts import Prediction


@dataclass(frozen=True)
class Signal:
    """What a forecast says about the horizon ahead; p_up / p_down are None without a distribution."""

    expected_return: float
    p_up: float | None = None
    p_down: float | None = None


def quantile_mean(levels: Sequence[float], quantiles: Sequence[float]) -> float:
    """Mean of a distribution known by its quantiles: each weighted by the mass between its neighbours' midpoints."""
    if len(levels) != len(quantiles) or not levels:
        raise ValueError("levels and quantiles need the same, non-zero length")
    edges = [0.0] + [(a + b) / 2 for a, b in pairwise(levels)] + [1.0]
    return sum(q * (edges[i + 1] - edges[i]) for i, q in enumerate(quantiles))


def signal_of(prediction: Prediction) -> Signal:
    """The expected edge of a prediction (see the module's docstring)."""
    for forecast in prediction.forecasts:
        if forecast.horizon == prediction.horizon:
            return Signal(quantile_mean(forecast.quantile_levels, forecast.return_quantiles),
                          forecast.p_up, forecast.p_down)
    return Signal(prediction.predicted_return)


def round_trip_cost(fee_bps: float) -> float:
    """The fee of entering and leaving a position, as a fraction of its notional."""
    return 2 * fee_bps / 10_000


def target_position(signal: Signal, current: int, fee_bps: float, allow_short: bool) -> int:
    """-1, 0 or 1: the position to hold from this forecast's close to the next."""
    edge = signal.expected_return
    cost = round_trip_cost(fee_bps)
    probabilities = signal.p_up is not None and signal.p_down is not None
    up_agrees = not probabilities or (signal.p_up or 0.0) > (signal.p_down or 0.0)
    down_agrees = not probabilities or (signal.p_down or 0.0) > (signal.p_up or 0.0)
    if up_agrees and edge > (0.0 if current == 1 else cost):
        return 1
    if allow_short and down_agrees and -edge > (0.0 if current == -1 else cost):
        return -1
    return 0
