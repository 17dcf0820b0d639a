"""What inference says about requested symbols: which model serves them, and why that one applies.

The champion applies to a symbol it was not trained on when none of its inputs is in price units
(:func:`tickcast.features.definitions.price_unit_inputs`): every other feature is a return, a ratio, a
bounded oscillator or a clock term. Until a symbol's lag window fills, or with no champion, the
persistence baseline serves it, labelled as such. Pure: reports go to
:class:`tickcast.symbol_progress.SymbolProgress`, which writes only what changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tickcast.contracts import Prediction, SymbolStage
from tickcast.features.definitions import price_unit_inputs

from inference.model import BASELINE_NAME


def applicability(feature_names: Sequence[str], trained_on: Sequence[str], symbol: str) -> str:
    """Why the champion's predictions hold for ``symbol``, or the caveat when they may not."""
    if symbol in trained_on:
        return "the champion was trained on this symbol"
    priced = price_unit_inputs(feature_names)
    if not priced:
        return "the champion applies to any symbol: its inputs are scale-free (no feature in price units)"
    return (f"caution: the champion takes inputs in price units ({', '.join(priced)}) and was trained on "
            f"{', '.join(trained_on) or 'other symbols'}; a model trained for this symbol replaces it after "
            "the next scheduled training passes the gate")


def serving_reports(
    predictions: Iterable[Prediction], feature_names: Sequence[str], trained_on: Sequence[str]
) -> list[tuple[str, SymbolStage, dict[str, Any]]]:
    """One report per symbol of the batch: the model whose prediction it got, and why."""
    latest: dict[str, Prediction] = {prediction.symbol: prediction for prediction in predictions}
    reports: list[tuple[str, SymbolStage, dict[str, Any]]] = []
    for symbol, prediction in latest.items():
        if prediction.model_name == BASELINE_NAME:
            detail = "the persistence baseline (labelled), until the champion's lag window fills or a champion exists"
        else:
            detail = applicability(feature_names, trained_on, symbol)
        reports.append((symbol, "serving", {"model": f"{prediction.model_name} v{prediction.model_version}",
                                            "source": prediction.source, "progress": None, "detail": detail}))
    return reports
