"""Forecasters by kind: every forecaster's JSON names its kind, and this turns it back into the forecaster."""

from __future__ import annotations

from typing import Any

from tickcast.forecast import baselines, learned, mlp

_KINDS: dict[str, Any] = {
    cls.kind: cls
    for cls in (
        baselines.LastHourVolatility, baselines.LogHarVolatility, baselines.GarchVolatility,
        baselines.ClimatologicalQuantiles, baselines.ScaledStudentT, baselines.TrailingFrequency,
        learned.HarFeaturesVolatility, learned.StandardizedQuantiles, learned.VolConditionalProbability,
        mlp.MlpVolatility, mlp.MlpQuantiles,
    )
}


def register_kind(cls: Any) -> Any:
    """Make another forecaster class loadable (e.g. one defined where TensorFlow is available)."""
    _KINDS[cls.kind] = cls
    return cls


def forecaster_from_json(data: dict[str, Any]) -> Any:
    """The forecaster ``data`` describes; a forecaster holding another one (a volatility) gets it back
    through this same function, passed as ``load``."""
    kind = data.get("kind")
    if kind not in _KINDS:
        raise ValueError(f"unknown forecaster kind {kind!r}; known: {sorted(_KINDS)}")
    return _KINDS[kind].from_json(data, forecaster_from_json)
