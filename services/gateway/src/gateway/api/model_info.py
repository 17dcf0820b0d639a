"""Turns what inference records about its models into the API's view of them (pure, no I/O)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping

import structlog

from pydantic import ValidationError

from gateway.api.schemas import ForecastLiveScore, LiveMetrics, ModelVersion, ServedModel
from tickcast.contracts import Prediction

log = structlog.get_logger(__name__)

_SERVED_FIELDS = {"name", "version", "feature_set_version", "loaded_at_ms", "offline_metrics"}
_LIVE_FLOAT_FIELDS = ("mae", "persistence_mae", "skill", "hit_rate")
# Identity fields inference repeats inside the hash; the key already names model and symbol.
_LIVE_IDENTITY_FIELDS = ("model_name", "model_version", "symbol")


def _text(fields: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    return {
        (key.decode() if isinstance(key, bytes) else key): (
            value.decode() if isinstance(value, bytes) else value
        )
        for key, value in fields.items()
    }


def _finite_float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    # JSON has no NaN or infinity: an undefined metric (e.g. skill before any baseline error) is null.
    return number if math.isfinite(number) else None


def served_model(fields: Mapping[bytes | str, bytes | str]) -> ServedModel | None:
    """The served-model hash as the API shows it; None when no model is loaded (empty hash)."""
    values = _text(fields)
    if not values.get("name") or not values.get("version"):
        return None
    loaded_at = values.get("loaded_at_ms")
    return ServedModel(
        name=values["name"],
        version=values["version"],
        feature_set_version=values.get("feature_set_version") or None,
        loaded_at_ms=int(float(loaded_at)) if loaded_at and _finite_float(loaded_at) is not None else None,
        offline_metrics=_offline_metrics(values.get("offline_metrics")),
        attributes={key: value for key, value in values.items() if key not in _SERVED_FIELDS},
    )


def _offline_metrics(text: str | None) -> dict:
    if not text:
        return {}
    try:
        metrics = json.loads(text, parse_constant=lambda _constant: None)
    except json.JSONDecodeError:
        log.warning("served model has unreadable offline_metrics", value=text[:200])
        return {}
    return metrics if isinstance(metrics, dict) else {"value": metrics}


def live_metrics(model_name: str, symbol: str, fields: Mapping[bytes | str, bytes | str]) -> LiveMetrics:
    """One live-metrics hash as the API shows it; unknown numeric fields go to ``additional``."""
    values = _text(fields)
    count = _finite_float(values.get("count"))
    additional = {
        key: number
        for key, value in values.items()
        if key not in (*_LIVE_FLOAT_FIELDS, *_LIVE_IDENTITY_FIELDS, "count")
        and (number := _finite_float(value)) is not None
    }
    return LiveMetrics(
        model_name=model_name,
        model_version=values.get("model_version") or None,
        symbol=symbol,
        **{name: _finite_float(values.get(name)) for name in _LIVE_FLOAT_FIELDS},
        count=int(count) if count is not None and count >= 0 else None,
        additional=additional,
    )


def split_live_metrics_key(key: str, prefix: str) -> tuple[str, str] | None:
    """``<prefix>model:live:<model_name>:<symbol>`` -> (model_name, symbol); None if it is not one.

    Model names may contain colons; symbols cannot, so the symbol is what follows the last one.
    """
    head = f"{prefix}model:live:"
    if not key.startswith(head):
        return None
    model_name, _, symbol = key[len(head) :].rpartition(":")
    if not model_name or not symbol:
        return None
    return model_name, symbol


def versions_in_use(latest: Iterable[Prediction]) -> list[ModelVersion]:
    """Group the newest prediction of each symbol by the model version that made it."""
    grouped: dict[tuple[str, str], list[Prediction]] = {}
    for prediction in latest:
        grouped.setdefault((prediction.model_name, prediction.model_version), []).append(prediction)
    versions = [
        ModelVersion(
            model_name=name,
            model_version=version,
            symbols=sorted(p.symbol for p in predictions),
            last_prediction_ms=max(p.as_of_ms for p in predictions),
        )
        for (name, version), predictions in grouped.items()
    ]
    return sorted(versions, key=lambda v: (-v.last_prediction_ms, v.model_name, v.model_version))


def forecast_live_scores(documents: Iterable[bytes | str]) -> list[ForecastLiveScore]:
    """The live forecast scores inference wrote, sorted by symbol, horizon and target; an unreadable one is
    logged and left out (it is rewritten with the next matured forecast)."""
    scores: list[ForecastLiveScore] = []
    for document in documents:
        try:
            value = json.loads(document, parse_constant=lambda _constant: None)
            values = value.pop("scores", {}) if isinstance(value, dict) else {}
            scores.append(ForecastLiveScore.model_validate(value | {
                name: number for name, raw in values.items()
                if name in ("coverage_80", "coverage_90", "pinball", "qlike", "brier")
                and (number := _finite_float(raw)) is not None}))
        except (json.JSONDecodeError, TypeError, ValidationError) as error:
            log.warning("unreadable live forecast score", value=str(document)[:200], error=str(error)[:200])
    return sorted(scores, key=lambda s: (s.symbol, s.horizon, s.target, s.forecaster))
