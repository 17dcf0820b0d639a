"""The persistence baseline of point forecasts: the price at the target time is the price now (a zero log return).

One definition for what the live leaderboard scores as ``persistence`` (inference) and for the
predictions the API serves under ``model=persistence`` (the gateway), derived from the champion's.
"""

from __future__ import annotations

import math

from tickcast.contracts import Prediction

NAME = "persistence"
VERSION = "baseline"
PREDICTED_RETURN = 0.0


def persistence_of(prediction: Prediction) -> Prediction:
    """What persistence predicted for the same symbol, time and horizon as ``prediction``."""
    base_close = prediction.predicted_price / math.exp(prediction.predicted_return)
    return prediction.model_copy(update={
        "model_name": NAME, "model_version": VERSION, "predicted_return": PREDICTED_RETURN,
        "predicted_price": base_close, "direction": "flat", "forecasts": [],
    })
