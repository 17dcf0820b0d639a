"""Writes predictions, candles, the served model and live scores to Redis (layout: ``RedisKeys``).

Every write is idempotent, because a batch is written to Redis before its
Kafka transaction commits and may be replayed after a crash:
- latest prediction: replaced only by one with the same or a newer ``as_of_ms``;
- history and candles: sorted sets where a member replaces any other at its score;
- pub/sub: a prediction already in the history for the same (symbol, as_of, model,
  version) is not published again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import redis

from tickcast.contracts import Candle, Prediction
from tickcast.redis_keys import RedisKeys
from tickcast.settings import RedisSettings

from inference.model import ServedModel
from inference.scoring import LiveScore

# KEYS: latest, history, symbols set. ARGV: prediction JSON, as_of_ms, model name,
# model version, history cap, history TTL (s), channel, symbol. Returns 1 if new, 0 if a repeat.
_WRITE_PREDICTION = """
local as_of = tonumber(ARGV[2])
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], as_of, as_of)) do
  local seen = cjson.decode(member)
  if seen['model_name'] == ARGV[3] and seen['model_version'] == ARGV[4] then
    return 0
  end
end
local current = redis.call('GET', KEYS[1])
if (not current) or tonumber(cjson.decode(current)['as_of_ms']) <= as_of then
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], as_of, as_of)
redis.call('ZADD', KEYS[2], as_of, ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[5]) + 1))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]))
redis.call('SADD', KEYS[3], ARGV[8])
redis.call('PUBLISH', ARGV[7], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class Retention:
    history_cap: int
    history_ttl_seconds: int
    candles_cap: int
    candles_ttl_seconds: int


class RedisStore:
    def __init__(self, settings: RedisSettings, retention: Retention) -> None:
        self._client = redis.Redis.from_url(settings.url)
        self.keys = RedisKeys(settings.key_prefix)
        self._retention = retention
        self._write_prediction = self._client.register_script(_WRITE_PREDICTION)

    def ping(self) -> None:
        self._client.ping()

    def write_batch(
        self,
        predictions: Iterable[Prediction],
        candles: Iterable[Candle],
        scores: Iterable[LiveScore],
    ) -> int:
        """Write one batch in a single round trip; return how many predictions were new."""
        pipe = self._client.pipeline(transaction=False)
        written = 0
        for prediction in predictions:
            self._queue_prediction(pipe, prediction)
            written += 1
        self._queue_candles(pipe, candles)
        for score in scores:
            pipe.hset(self.keys.live_metrics(score.model_name, score.symbol), mapping=live_score_fields(score))
        results = pipe.execute()
        return sum(int(result) for result in results[:written])

    def write_served_model(self, served: ServedModel) -> None:
        model = served.model
        self._client.hset(
            self.keys.served_model(),
            mapping={
                "name": model.name,
                "version": model.version,
                "feature_set_version": model.feature_set_version,
                "interval": model.interval,
                "horizon": model.horizon,
                "lag_window": model.lag_window,
                "loaded_at_ms": served.loaded_at_ms,
                "offline_metrics": json.dumps(served.offline_metrics, sort_keys=True),
            },
        )

    def _queue_prediction(self, pipe: redis.client.Pipeline, prediction: Prediction) -> None:
        retention = self._retention
        self._write_prediction(
            keys=[
                self.keys.latest_prediction(prediction.symbol),
                self.keys.prediction_history(prediction.symbol),
                self.keys.symbols(),
            ],
            args=[
                prediction.model_dump_json(),
                prediction.as_of_ms,
                prediction.model_name,
                prediction.model_version,
                retention.history_cap,
                retention.history_ttl_seconds,
                self.keys.predictions_channel(),
                prediction.symbol,
            ],
            client=pipe,
        )

    def _queue_candles(self, pipe: redis.client.Pipeline, candles: Iterable[Candle]) -> None:
        touched: dict[str, str] = {}
        for candle in candles:
            key = self.keys.candles(candle.symbol, candle.interval)
            # A revised candle replaces the earlier version of itself.
            pipe.zremrangebyscore(key, candle.open_time_ms, candle.open_time_ms)
            pipe.zadd(key, {candle.model_dump_json(): candle.open_time_ms})
            touched[key] = candle.symbol
        for key, symbol in touched.items():
            pipe.zremrangebyrank(key, 0, -(self._retention.candles_cap + 1))
            pipe.expire(key, self._retention.candles_ttl_seconds)
            pipe.sadd(self.keys.symbols(), symbol)

    def close(self) -> None:
        self._client.close()


def live_score_fields(score: LiveScore) -> dict[str, str | int | float]:
    return {
        "model_name": score.model_name,
        "model_version": score.model_version,
        "symbol": score.symbol,
        "mae": score.mae,
        "persistence_mae": score.persistence_mae,
        "skill": "" if score.skill is None else score.skill,
        "hit_rate": score.hit_rate,
        "count": score.count,
        "last_target_time_ms": score.last_target_time_ms,
    }
