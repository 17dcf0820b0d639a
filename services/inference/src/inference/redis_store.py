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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import redis

from tickcast.contracts import Candle, Prediction
from tickcast.local_state import BrokerIdentity
from tickcast.redis_keys import RedisKeys
from tickcast.settings import RedisSettings

from inference.distribution_scoring import ForecastLiveScore
from inference.model import ServedModel
from inference.scoring import LiveScore

# One call writes a chunk of predictions (one script run instead of one per prediction).
# KEYS: the symbols set, then latest and history of each prediction.
# ARGV: history cap, history TTL (s), channel, publish (1 or 0), then JSON, as_of_ms, model name, model version and
# symbol of each prediction. Returns how many were new (not repeats).
_WRITE_PREDICTIONS = """
local cap, ttl, channel, publish = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4] == '1'

local function write(latest, history, json, as_of, model_name, model_version, symbol)
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', history, as_of, as_of)) do
    local seen = cjson.decode(member)
    if seen['model_name'] == model_name and seen['model_version'] == model_version then
      return 0
    end
  end
  local current = redis.call('GET', latest)
  if (not current) or tonumber(cjson.decode(current)['as_of_ms']) <= as_of then
    redis.call('SET', latest, json)
  end
  redis.call('ZREMRANGEBYSCORE', history, as_of, as_of)
  redis.call('ZADD', history, as_of, json)
  redis.call('ZREMRANGEBYRANK', history, 0, -(cap + 1))
  redis.call('EXPIRE', history, ttl)
  redis.call('SADD', KEYS[1], symbol)
  if publish then
    redis.call('PUBLISH', channel, json)
  end
  return 1
end

local new = 0
for i = 0, (#KEYS - 1) / 2 - 1 do
  local arg = 5 + 5 * i
  new = new + write(KEYS[2 + 2 * i], KEYS[3 + 2 * i], ARGV[arg], tonumber(ARGV[arg + 1]), ARGV[arg + 2],
                    ARGV[arg + 3], ARGV[arg + 4])
end
return new
"""
# Predictions per script run: long enough to amortise the call, short enough not to hold Redis up.
_CHUNK = 250


@dataclass(frozen=True)
class Retention:
    history_cap: int
    history_ttl_seconds: int
    candles_cap: int
    candles_ttl_seconds: int


class RedisStore:
    def __init__(self, settings: RedisSettings, retention: Retention) -> None:
        # Short timeouts: a Redis that hangs must not hold the Kafka loop for long.
        self._client = redis.Redis.from_url(settings.url, socket_connect_timeout=2, socket_timeout=5)
        self.keys = RedisKeys(settings.key_prefix)
        self._retention = retention
        self._write_predictions = self._client.register_script(_WRITE_PREDICTIONS)

    def ping(self) -> None:
        self._client.ping()

    def write_batch(
        self,
        predictions: Sequence[Prediction],
        candles: Iterable[Candle],
        scores: Iterable[LiveScore],
        forecast_scores: Sequence[ForecastLiveScore] = (),
        *,
        publish: bool = True,
        shadow: Sequence[Prediction] = (),
        leaderboard: str | None = None,
    ) -> int:
        """Write one batch in a single round trip; return how many (champion) predictions were new.

        ``publish=False`` (a rebuild from the topics) does not announce old predictions as new ones.
        ``shadow``: challengers' predictions, kept per version; ``leaderboard``: its JSON document.
        """
        pipe = self._client.pipeline(transaction=False)
        chunks = range(0, len(predictions), _CHUNK)
        for start in chunks:
            self._queue_predictions(pipe, predictions[start : start + _CHUNK], publish)
        for start in range(0, len(shadow), _CHUNK):
            self._queue_predictions(pipe, shadow[start : start + _CHUNK], publish, per_model=True)
        if leaderboard is not None:
            pipe.set(self.keys.leaderboard(), leaderboard)
        self._queue_candles(pipe, candles)
        for score in scores:
            pipe.hset(self.keys.live_metrics(score.model_name, score.symbol), mapping=live_score_fields(score))
        if forecast_scores:
            pipe.hset(self.keys.forecast_live_scores(), mapping={s.field: s.to_json() for s in forecast_scores})
        results = pipe.execute()
        return sum(int(result) for result in results[: len(chunks)])

    def predictions_since(self, since_ms: dict[str, int]) -> list[Prediction]:
        """Each symbol's stored predictions with ``as_of_ms >= since_ms[symbol]``, oldest first."""
        pipe = self._client.pipeline(transaction=False)
        for symbol, since in since_ms.items():
            pipe.zrangebyscore(self.keys.prediction_history(symbol), since, "+inf")
        return [Prediction.parse(member) for members in pipe.execute() for member in members]

    def rebuilt(self, partitions: Sequence[int]) -> list[int]:
        """Which of these candle partitions the store holds the rebuild of (all, unless Redis lost its data)."""
        if not partitions:
            return []
        flags = self._client.smismember(self.keys.rebuilt_partitions(), list(partitions))
        return [partition for partition, present in zip(partitions, flags, strict=True) if present]

    def mark_rebuilt(self, partitions: Iterable[int]) -> None:
        members = list(partitions)
        if members:
            self._client.sadd(self.keys.rebuilt_partitions(), *members)

    def broker_identity(self) -> BrokerIdentity | None:
        """What the store was filled from; None when it does not say (or says it in an unreadable way)."""
        value = self._client.get(self.keys.broker_identity())
        try:
            return None if value is None else BrokerIdentity.from_json(value.decode())
        except (ValueError, KeyError, TypeError):
            return None

    def set_broker_identity(self, identity: BrokerIdentity) -> None:
        self._client.set(self.keys.broker_identity(), identity.to_json())

    def forget_everything(self) -> int:
        """Delete every key under the prefix (it was filled from other topics); how many there were."""
        deleted = 0
        batch: list[bytes] = []
        for key in self._client.scan_iter(match=self.keys.everything_pattern(), count=1000):
            batch.append(key)
            if len(batch) == 1000:
                deleted += self._client.unlink(*batch)
                batch.clear()
        if batch:
            deleted += self._client.unlink(*batch)
        return deleted

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

    def write_forecasters(self, summary: dict[str, object]) -> None:
        """The served forecaster set, one JSON field of the served-model hash (``/models`` shows it)."""
        self._client.hset(self.keys.served_model(), "forecasters", json.dumps(summary, sort_keys=True))

    def record_promotion_decision(self, decision_json: str, keep: int = 50) -> None:
        pipe = self._client.pipeline(transaction=False)
        pipe.lpush(self.keys.live_promotion_decisions(), decision_json)
        pipe.ltrim(self.keys.live_promotion_decisions(), 0, keep - 1)
        pipe.execute()

    def _queue_predictions(self, pipe: redis.client.Pipeline, predictions: Sequence[Prediction],
                           publish: bool, per_model: bool = False) -> None:
        keys = [self.keys.symbols()]
        channel = self.keys.challenger_predictions_channel() if per_model else self.keys.predictions_channel()
        args: list[str | int] = [self._retention.history_cap, self._retention.history_ttl_seconds,
                                 channel, 1 if publish else 0]
        for prediction in predictions:
            if per_model:
                keys += [self.keys.model_latest_prediction(prediction.model_version, prediction.symbol),
                         self.keys.model_prediction_history(prediction.model_version, prediction.symbol)]
            else:
                keys += [self.keys.latest_prediction(prediction.symbol),
                         self.keys.prediction_history(prediction.symbol)]
            args += [prediction.model_dump_json(), prediction.as_of_ms, prediction.model_name,
                     prediction.model_version, prediction.symbol]
        self._write_predictions(keys=keys, args=args, client=pipe)

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
