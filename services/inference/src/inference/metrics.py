"""Prometheus metrics of the inference service."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from tickcast.metrics import LATENCY_BUCKETS

from inference.distribution_scoring import ForecastLiveScore
from inference.model import ServedModel
from inference.scoring import LiveScore

PREDICTIONS = Counter(
    "inference_predictions_total", "Predictions emitted (rate() gives predictions per second).",
    ["model_name", "model_version"],
)
CLOSE_TO_PREDICTION = Histogram(
    "inference_close_to_prediction_seconds",
    "From the close of the candle a prediction is made at to the prediction being in Redis.",
    buckets=LATENCY_BUCKETS,
)
BATCH_SIZE = Histogram(
    "inference_batch_vectors", "Feature vectors predicted together in one batch.",
    buckets=(1, 2, 5, 10, 50, 100, 500, 1000, 2000, 5000),
)
REFUSED = Counter("inference_refused_total", "Input messages sent to a dead-letter topic.", ["topic", "reason"])
SKIPPED = Counter("inference_skipped_total", "Valid vectors not for this service (other interval).", ["reason"])
SERVED_MODEL = Gauge(
    "inference_served_model_info", "1 for the model currently served.",
    ["model_name", "model_version", "feature_set_version"],
)
CHALLENGERS = Gauge("inference_challengers", "Challenger versions served in shadow beside the champion.")
CHALLENGER_REFUSED = Counter(
    "inference_challenger_refused_total",
    "Vectors a challenger could not predict (the champion's prediction is unaffected; nothing dead-lettered).",
    ["model_version", "reason"],
)
SWAPS = Counter("inference_model_swaps_total", "Champion models swapped in without a restart.")
LOAD_FAILURES = Counter("inference_model_load_failures_total", "Champion checks or loads that failed.")
REDIS_WRITE_FAILURES = Counter("inference_redis_write_failures_total", "Redis writes that failed (Redis away).")
REDIS_BACKLOG = Gauge("inference_redis_backlog_batches", "Batches waiting for Redis to come back.")
REDIS_BACKLOG_DROPPED = Counter(
    "inference_redis_backlog_dropped_total", "Oldest waiting batches dropped from a full backlog (still on the topic)."
)
LIVE_MAE = Gauge("inference_live_mae", "Rolling live MAE of the predicted log return.", ["model_name", "symbol"])
LIVE_SKILL = Gauge("inference_live_skill", "Rolling live skill versus persistence (1 - MAE ratio).",
                   ["model_name", "symbol"])
LIVE_HIT_RATE = Gauge("inference_live_hit_rate", "Rolling live direction hit rate.", ["model_name", "symbol"])


def record_served(served: ServedModel, previous: ServedModel | None) -> None:
    if previous is not None:
        model = previous.model
        SERVED_MODEL.remove(model.name, model.version, model.feature_set_version)
    model = served.model
    SERVED_MODEL.labels(model.name, model.version, model.feature_set_version).set(1)


def record_live(scores: list[LiveScore]) -> None:
    for score in scores:
        LIVE_MAE.labels(score.model_name, score.symbol).set(score.mae)
        LIVE_HIT_RATE.labels(score.model_name, score.symbol).set(score.hit_rate)
        if score.skill is not None:
            LIVE_SKILL.labels(score.model_name, score.symbol).set(score.skill)

FORECAST_LIVE = Gauge(
    "inference_forecast_live_score",
    "Rolling score of matured distribution forecasts: coverage_80/coverage_90/pinball (distribution), "
    "qlike (volatility), brier (probability), count.",
    ["symbol", "horizon", "target", "forecaster", "score"],
)


def record_forecast_scores(changes: list[ForecastLiveScore]) -> None:
    for change in changes:
        for score, value in (change.scores | {"count": float(change.count)}).items():
            FORECAST_LIVE.labels(change.symbol, str(change.horizon), change.target, change.forecaster, score).set(value)
LIVE_PROMOTION_DECISIONS = Counter(
    "inference_live_promotion_decisions_total", "Live-promotion decisions on challengers.", ["decision"])
