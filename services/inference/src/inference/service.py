"""The consume-predict-publish loop: Kafka in, Kafka and Redis out.

One loop iteration is one batch: the feature vectors (and candles) that arrived
together are predicted in one model call, then, inside one Kafka transaction,
the predictions go to ``predictions``, refusals to the dead-letter topics and
the input offsets are committed. Redis is written before the commit: a crash in
between replays the batch, and the Redis writes are idempotent.
"""

from __future__ import annotations

import gc
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field, replace

import redis
import structlog
from confluent_kafka import KafkaException, Message, TopicPartition

from tickcast.contracts import Candle, ContractError, FeatureVector, Prediction
from tickcast.kafka import DeliveryError, dead_letter
from tickcast.local_state import mismatch, read_identity
from tickcast.rate_limited_log import RateLimitedLog
from tickcast.supervise import RestartSettings, supervise
from tickcast.symbol_progress import SymbolProgress
from tickcast.symbol_status import SymbolStatusBoard
from tickcast.topics import Topic, TopicNames
from tickcast.transactions import TransactionalProducer, next_offsets

from inference import metrics, promoter
from inference.batch_consumer import BatchConsumer
from inference.challengers import Challengers
from inference.champion import ChampionSource, ChampionWatcher
from inference.config import Settings
from inference.distribution import CloseHistories, DistributionAttacher
from inference.distribution_scoring import DistributionScorer, ForecastLiveScore
from inference.forecaster_sets import ForecasterSetFollower, ForecasterSetSource
from inference.forecaster_sets import summary as forecaster_set_summary
from inference.forecasting import Forecaster, ForecastBatch
from inference.leaderboard import Leaderboard, ModelKey, leaderboard_document
from inference.live_promotion import LivePromotion
from inference.model import PersistenceBaseline, ServedModel, is_baseline
from inference.paper_trading.live import PaperTrading
from inference.paper_trading.redis_store import PaperStore
from inference.paper_trading.trader import PaperTrader
from inference.redis_refill import RefillingRedisWriter
from inference.redis_store import RedisStore, Retention
from inference.restore import vectors_before_committed
from inference.scoring import LiveScore, LiveScorer, base_close_of
from inference.symbol_progress import serving_reports
from inference.topic_tail import RecentHistory, read_recent_history

log = structlog.get_logger(__name__)
# Every refused message is counted and dead-lettered; its warning is folded, per kind, per interval.
REFUSED_LOG = RateLimitedLog(log, "messages refused (in the dead-letter topic)")

SERVICE = "inference"

# Failures of the Kafka clients, e.g. a transaction that cannot commit while the broker restarts.
RECOVERABLE = (KafkaException, DeliveryError)


def run_supervised(settings: Settings, source: ChampionSource, stop: threading.Event,
                   forecaster_sets: ForecasterSetSource | None = None,
                   promotions: promoter.PromotionRegistry | None = None) -> None:
    """Serve until ``stop``; after a Kafka failure, serve again with fresh clients from the last commit.

    Each batch commits its offsets in the transaction that publishes its predictions, so a fresh
    service (new consumer, new transactional producer fencing the old one) resumes exactly there.
    """
    supervise(SERVICE, lambda: InferenceService(settings, source, forecaster_sets, promotions).run(stop), RECOVERABLE,
              RestartSettings().policy(), stop=stop)


@dataclass
class _Inbox:
    """One batch of input, sorted by kind; indexes point back into ``messages``."""

    messages: list[Message]
    vectors: list[FeatureVector] = field(default_factory=list)
    vector_messages: list[Message] = field(default_factory=list)
    candles: list[Candle] = field(default_factory=list)
    refused: list[tuple[Message, str, str]] = field(default_factory=list)  # message, reason, error type


class InferenceService:
    def __init__(self, settings: Settings, source: ChampionSource,
                 forecaster_sets: ForecasterSetSource | None = None,
                 promotions: promoter.PromotionRegistry | None = None) -> None:
        """``promotions``: where live promotion moves the champion alias (needed with INFERENCE_LIVE_PROMOTION)."""
        self._settings = settings
        self._sets = None if forecaster_sets is None else ForecasterSetFollower(
            forecaster_sets, settings.interval, settings.champion_poll_seconds)
        self._histories = CloseHistories(settings.interval_ms)
        self._distribution_scorer = DistributionScorer(self._histories, settings.live_window)
        self._topics = TopicNames(settings.kafka)
        self._features_topic = self._topics(Topic.FEATURES)
        self._candles_topic = self._topics(Topic.CANDLES)
        self._predictions_topic = self._topics(Topic.PREDICTIONS)
        self._watcher = ChampionWatcher(source, settings.interval, settings.horizon, settings.champion_poll_seconds)
        self._baseline = PersistenceBaseline(interval=settings.interval, horizon=settings.horizon)
        self._challengers = Challengers(source, self._baseline, settings.direction_dead_band,
                                        settings.champion_poll_seconds)
        self._challengers_topic = self._topics(Topic.PREDICTIONS_CHALLENGERS)
        self._store = RedisStore(
            settings.redis,
            Retention(settings.history_cap, settings.history_ttl_seconds,
                      settings.candles_cap, settings.candles_ttl_seconds),
        )
        # Requested symbols' status: the model that serves them (written only when it changes).
        self._symbol_progress = SymbolProgress(SymbolStatusBoard(settings.kafka, settings.redis, SERVICE))
        self._redis = RefillingRedisWriter(self._store, settings.redis_backlog_batches, settings.redis_retry_seconds)
        self._scorer = LiveScorer(settings.live_window, settings.max_pending_per_symbol,
                                  settings.direction_dead_band)
        self._paper = PaperTrading(
            PaperTrader(settings.paper_fee_bps, settings.paper_allow_short, settings.interval_ms),
            PaperStore(settings.redis, settings.paper_curve_cap, settings.candles_ttl_seconds),
            settings.interval, settings.interval_ms) if settings.paper_trading else None
        self._leaderboard = Leaderboard(settings.leaderboard_window, settings.max_pending_per_symbol,
                                        settings.direction_dead_band)
        self._promotion = LivePromotion(settings.live_promotion_min_count, settings.live_promotion_alpha,
                                        settings.horizon) if settings.live_promotion else None
        if self._promotion is not None and promotions is None:
            raise ValueError("live promotion is on but no registry was given to promote in")
        self._promotions = promotions
        self._next_leaderboard = 0.0
        self._forecaster: Forecaster | None = None
        self._input = BatchConsumer(settings.kafka, settings.group_id, settings.session_timeout_ms,
                                    [self._features_topic, self._candles_topic],
                                    settings.batch_max_messages, settings.batch_linger_ms)
        self._producer: TransactionalProducer | None = None
        self._symbols_by_partition: dict[int, set[str]] = {}
        self._to_restore: list[TopicPartition] = []  # assigned features partitions whose windows are empty
        self._forecast_scores: list[ForecastLiveScore] = []  # changed by this batch, to write to Redis
        self._candle_partitions: set[int] = set()  # assigned candles partitions: the symbols served here
        self._to_seed: set[int] = set()  # assigned candles partitions whose live scores are not rebuilt yet
        self._next_store_check = 0.0
        self._identity_checked = False
        self.assigned = threading.Event()  # set once partitions are assigned: ready for input

    @property
    def challengers(self) -> list[str]:
        """Labels of the challengers served in shadow now."""
        return self._challengers.labels

    # ------------------------------------------------------------------ lifecycle

    def run(self, stop: threading.Event) -> None:
        try:
            self._start()  # inside: a start that fails (broker away) still stops the watcher it started
            while not stop.is_set():
                self._swap_if_ready()
                self._rebuild_if_needed()
                REFUSED_LOG.flush()
                messages = self._input.next_batch()
                if messages:
                    self._process(messages)
        finally:
            self._close()

    def _start(self) -> None:
        try:
            self._store.ping()
        except redis.RedisError as error:
            log.error("redis does not answer: serving the topic, Redis is filled when it comes", error=str(error))
        champion = self._watcher.load_now()
        served = champion or ServedModel(self._baseline, int(time.time() * 1000))
        if champion is None:
            log.warning("no champion in the registry: serving the persistence baseline, labelled as such")
        self._forecaster = Forecaster(served, self._baseline, self._settings.direction_dead_band)
        self._announce(served, previous=None)
        self._watcher.start()
        self._challengers.start()

        kafka = self._settings.kafka
        transactional_id = self._settings.transactional_id or f"{SERVICE}-{socket.gethostname()}-" \
                                                               f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._producer = TransactionalProducer(kafka, transactional_id)
        self._input.start(self._on_assign, self._on_revoke)
        _exempt_startup_objects_from_gc()

    def _close(self) -> None:
        self._watcher.stop()
        self._challengers.stop()
        self._input.close()
        self._store.close()
        if self._paper is not None:
            self._paper.close()

    # ------------------------------------------------------------------ rebalances

    def _on_assign(self, partitions: list[TopicPartition]) -> None:
        log.info("partitions assigned", partitions=[(p.topic, p.partition) for p in partitions])
        self._to_restore += [p for p in partitions if p.topic == self._features_topic]
        candles = {p.partition for p in partitions if p.topic == self._candles_topic}
        self._candle_partitions |= candles
        self._to_seed |= candles
        self._next_store_check = 0.0
        self.assigned.set()

    def _on_revoke(self, partitions: list[TopicPartition]) -> None:
        # What this instance kept for the symbols of these partitions is now someone else's
        # (the batch consumer sets aside messages already fetched from them).
        gone: set[str] = set()
        candles = {p.partition for p in partitions if p.topic == self._candles_topic}
        self._candle_partitions -= candles
        self._to_seed -= candles
        for p in partitions:
            if p.topic == self._features_topic:
                gone |= self._symbols_by_partition.pop(p.partition, set())
        if self._forecaster is not None:
            self._forecaster.windows.forget(gone)
        self._challengers.forget(gone)
        self._histories.forget(gone)
        self._distribution_scorer.forget(gone)
        self._scorer.forget(gone)
        if self._paper is not None:
            self._paper.forget(gone)
        self._leaderboard.forget(gone)
        log.info("partitions revoked", partitions=[(p.topic, p.partition) for p in partitions])

    # ------------------------------------------------------------------ the loop

    def _swap_if_ready(self) -> None:
        self._challengers.swap_if_ready()
        ready = self._watcher.take_ready()
        if ready is None or self._forecaster is None:
            return
        previous = self._forecaster.served
        self._forecaster.swap(ready)
        metrics.SWAPS.inc()
        self._announce(ready, previous)
        log.info("champion swapped in", previous=previous.label, served=ready.label)

    def _announce(self, served: ServedModel, previous: ServedModel | None) -> None:
        self._redis.write_served_model(served)
        metrics.record_served(served, previous)

    def _process(self, messages: list[Message]) -> None:
        assert self._forecaster is not None and self._producer is not None
        started = time.perf_counter()
        self._restore_windows()
        self._rebuild_if_needed()  # partitions assigned while this batch was gathered are seeded first
        inbox = self._sort(messages)
        now_ms = int(time.time() * 1000)
        batch = self._with_distributions(inbox.vectors, self._forecaster.forecast(inbox.vectors, now_ms))
        for refusal in batch.refusals:
            inbox.refused.append((inbox.vector_messages[refusal.index], refusal.reason, refusal.error_type))
        shadow = self._challengers.forecast(inbox.vectors, now_ms, self._forecaster.served.model)

        scored_candles = [candle for candle in inbox.candles if candle.interval == self._settings.interval]
        self._recover_awaiting(scored_candles)
        for candle in scored_candles:
            self._scorer.on_candle(candle.symbol, candle.open_time_ms, candle.close)
        for forecast in batch.forecasts:
            self._scorer.on_prediction(forecast.prediction, forecast.base_close)
        scores = self._scorer.drain_changes()
        leaderboard = self._rank(scored_candles, batch, shadow)
        predicted = time.perf_counter()

        predictions = [forecast.prediction for forecast in batch.forecasts]
        self._producer.begin()
        try:
            for prediction in predictions:
                self._producer.send(self._predictions_topic, prediction)
            for prediction in shadow:  # in the same transaction: visible with the champion's, or not at all
                self._producer.send(self._challengers_topic, prediction)
            for message, reason, error_type in inbox.refused:
                self._refuse(message, reason, error_type)
            forecast_scores, self._forecast_scores = self._forecast_scores, []
            new_in_redis = self._redis.write_batch(predictions, inbox.candles, scores, forecast_scores,
                                                   shadow=shadow, leaderboard=leaderboard)
            in_redis_s = time.time()
            in_redis = time.perf_counter()
            self._producer.commit(self._input.client, next_offsets(messages))
        except Exception:
            # Nothing of this batch becomes visible on Kafka; the process stops and the
            # batch is read again from the committed offsets (Redis writes are idempotent).
            self._producer.abort()
            raise
        committed = time.perf_counter()
        if self._paper is not None:  # after the commit, off the predictions' path; a crash before it is
            self._paper.on_batch(scored_candles, [*predictions, *shadow])  # made good by the replay at restart
        self._symbol_progress.report(serving_reports(
            predictions, self._forecaster.served.model.feature_names, self._settings.symbol_list))

        self._observe(predictions, scores, in_redis_s, len(inbox.vectors))
        log.debug("batch done", messages=len(messages), vectors=len(inbox.vectors), candles=len(inbox.candles),
                  refused=len(inbox.refused), repeats=len(predictions) - new_in_redis, predict_ms=round((predicted - started) * 1000, 1),
                  redis_ms=round((in_redis - predicted) * 1000, 1),
                  commit_ms=round((committed - in_redis) * 1000, 1))

    def _rank(self, candles: list[Candle], batch: ForecastBatch, shadow: list[Prediction]) -> str | None:
        """Feed the leaderboard; every ``leaderboard_seconds``, its JSON (and any live-promotion decision)."""
        for candle in candles:
            self._leaderboard.on_candle(candle.symbol, candle.open_time_ms, candle.close)
        for forecast in batch.forecasts:
            self._leaderboard.on_prediction(forecast.prediction, forecast.base_close)
        for prediction in shadow:
            self._leaderboard.on_prediction(prediction, base_close_of(prediction))
        now = time.monotonic()
        if now < self._next_leaderboard:
            return None
        self._next_leaderboard = now + self._settings.leaderboard_seconds
        return self._leaderboard_now()

    def _served_keys(self) -> tuple[ModelKey | None, list[ModelKey]]:
        assert self._forecaster is not None
        model = self._forecaster.served.model
        champion = None if is_baseline(model) else (model.name, model.version)
        return champion, self._challengers.keys

    def _leaderboard_now(self) -> str:
        champion, challengers = self._served_keys()
        now_ms = int(time.time() * 1000)
        if self._promotion is not None and self._promotions is not None and champion is not None:
            for decision in self._promotion.decisions(self._leaderboard, champion, challengers, now_ms):
                try:
                    promoter.apply(decision, self._promotions, self._store)
                except Exception:  # noqa: BLE001 - a registry away must not stop serving; decided again later
                    log.exception("live promotion decision not applied", version=decision.challenger_version)
        settings = {"enabled": self._promotion is not None, "min_count": self._settings.live_promotion_min_count,
                    "alpha": self._settings.live_promotion_alpha}
        return leaderboard_document(self._leaderboard.standings(champion, challengers), champion, challengers,
                                    self._settings.leaderboard_window, settings, now_ms)

    def _with_distributions(self, vectors: list[FeatureVector], batch: ForecastBatch) -> ForecastBatch:
        """The batch with each prediction's distribution forecasts, all symbols in one call per forecaster."""
        forecaster_set = self._sets.refresh() if self._sets is not None else None
        if forecaster_set is not None and self._sets is not None and self._sets.changed:
            self._sets.changed = False
            self._redis.write_forecasters(forecaster_set_summary(forecaster_set))
        if forecaster_set is None:
            for vector in vectors:  # histories stay current for when a set arrives
                self._histories.push(vector)
            return batch
        by_index: list[Prediction | None] = [None] * len(vectors)
        for forecast in batch.forecasts:
            by_index[forecast.index] = forecast.prediction
        attached = DistributionAttacher(forecaster_set, self._histories, self._distribution_scorer).attach(
            vectors, by_index)
        changed = self._distribution_scorer.drain_changes()
        metrics.record_forecast_scores(changed)
        self._forecast_scores += changed
        forecasts = [replace(f, prediction=attached[f.index] or f.prediction) for f in batch.forecasts]
        return ForecastBatch(forecasts, batch.refusals)

    def _restore_windows(self) -> None:
        """Refill the lag windows and close histories of newly assigned partitions before their first batch."""
        assert self._forecaster is not None
        partitions, self._to_restore = self._to_restore, []
        lag_window = self._forecaster.served.model.lag_window
        wanted = lag_window > 1 or self._sets is not None or self._challengers.lag_window > 1
        if not partitions or not wanted or not self._settings.restore_budget:
            return
        restored = vectors_before_committed(self._settings.kafka, self._input.client, partitions,
                                            self._settings.restore_budget)
        for partition, vector in restored:
            if vector.interval == self._settings.interval:
                self._forecaster.windows.push(vector)
                self._challengers.push(vector)
                self._histories.push(vector)
                self._symbols_by_partition.setdefault(partition, set()).add(vector.symbol)
        log.info("lag windows restored", vectors=len(restored), partitions=[p.partition for p in partitions])

    def _rebuild_if_needed(self) -> None:
        """Rebuild from the topics what is missing: the live scores after an assignment, Redis after it lost data.

        The candles, predictions and live scores Redis serves are derived from the topics; so are the
        live scores kept in memory. Redis holds a marker per candle partition once it has its rebuild:
        a marker gone means Redis came back empty, and that partition is written again.
        """
        now = time.monotonic()
        if not self._to_seed and now < self._next_store_check:
            return
        self._next_store_check = now + self._settings.rebuild_check_seconds
        owned = sorted(self._candle_partitions)
        try:
            if not self._identity_checked:
                self._discard_store_of_other_topics()
            in_store = set(self._store.rebuilt(owned))
        except redis.RedisError:
            in_store = None  # Redis away: seed the scores now, fill Redis once it answers
        missing = [] if in_store is None else [p for p in owned if p not in in_store]
        partitions = sorted(self._to_seed | set(missing))
        if not partitions or not self._settings.rebuild_budget:
            self._to_seed.clear()
            return
        started = time.perf_counter()
        history = read_recent_history(self._settings.kafka, self._candles_topic, partitions,
                                      self._predictions_topic, self._settings.rebuild_budget,
                                      challengers_topic=self._challengers_topic)
        self._seed_scores(history)
        if self._paper is not None:
            self._paper.rebuild(history, history.challenger_predictions)
        self._to_seed.difference_update(partitions)
        written = False
        if in_store is not None:
            try:
                self._write_rebuild(history, missing)
                written = True
            except redis.RedisError as error:
                log.warning("redis not rebuilt: it did not answer; tried again later", error=str(error))
        log.info("rebuilt from the topics", partitions=partitions, redis_partitions=missing if written else [],
                 candles=len(history.candles), predictions=len(history.predictions),
                 symbols=len(history.symbols), seconds=round(time.perf_counter() - started, 2))

    def _discard_store_of_other_topics(self) -> None:
        """A store filled from other topics (another cluster, a topic created again) is emptied, then rebuilt.

        The same test as for local state (``tickcast.local_state``): the cluster id, each topic's id,
        and partitions that end before where they ended when the store was last checked.
        """
        current = read_identity(self._settings.kafka, [self._candles_topic, self._predictions_topic])
        saved = self._store.broker_identity()
        if saved is not None and (reason := mismatch(saved, current)) is not None:
            deleted = self._store.forget_everything()
            log.warning("redis does not match the topics it was filled from: discarded, rebuilt from the topics",
                        reason=reason, keys_deleted=deleted)
        self._store.set_broker_identity(current)
        self._identity_checked = True

    def _seed_scores(self, history: RecentHistory) -> None:
        """Replay the recent candles and predictions into the live scorer, in the order they became known."""
        interval_ms = self._settings.interval_ms
        events: list[tuple[int, int, Candle | Prediction]] = [
            (candle.open_time_ms + interval_ms, 0, candle)
            for candle in history.candles if candle.interval == self._settings.interval
        ]
        events += [(p.as_of_ms + interval_ms, 1, p) for p in history.predictions]
        events += [(p.as_of_ms + interval_ms, 2, p) for p in history.challenger_predictions]
        events.sort(key=lambda event: (event[0], event[1]))
        for _, kind, item in events:
            if isinstance(item, Candle):
                self._scorer.on_candle(item.symbol, item.open_time_ms, item.close)
                self._leaderboard.on_candle(item.symbol, item.open_time_ms, item.close)
                continue
            if kind == 1:
                self._scorer.on_prediction(item, base_close_of(item))
            self._leaderboard.on_prediction(item, base_close_of(item))  # the windows continue where they were
        self._scorer.mark_recovered(history.symbols)
        self._scorer.drain_changes()  # written below with every other score of these symbols
        metrics.record_live(self._scorer.summaries(history.symbols))
        if self._sets is not None:
            # The distribution forecasts of the same predictions, scored against the close histories
            # restored from the features topic (run just before, in the same batch).
            symbols = set(history.symbols)
            scored = self._distribution_scorer.rebuild([p for p in history.predictions if p.symbol in symbols])
            metrics.record_forecast_scores(self._distribution_scorer.snapshot())
            log.info("live forecast scores rebuilt from the predictions topic", forecasts_scored=scored)

    def _write_rebuild(self, history: RecentHistory, missing: list[int]) -> None:
        """Write the live scores, and for partitions Redis lost, the candles, predictions and served model."""
        scores = self._scorer.summaries(history.symbols)
        forecast_scores = self._distribution_scorer.snapshot()
        leaderboard = self._leaderboard_now() if self._forecaster is not None else None
        if not missing:
            self._store.write_batch([], [], scores, forecast_scores, publish=False, leaderboard=leaderboard)
            return
        candles, predictions, shadow = history.candles, history.predictions, history.challenger_predictions
        step = 5000
        for start in range(0, max(len(candles), len(predictions), len(shadow)), step):
            self._store.write_batch(predictions[start : start + step], candles[start : start + step], [],
                                    publish=False, shadow=shadow[start : start + step])
        self._store.write_batch([], [], scores, forecast_scores, publish=False, leaderboard=leaderboard)
        if self._forecaster is not None:
            self._store.write_served_model(self._forecaster.served)
        if self._sets is not None:
            self._sets.changed = True  # the forecaster set's summary is written again with the next batch
        self._store.mark_rebuilt(missing)

    def _recover_awaiting(self, candles: list[Candle]) -> None:
        """Before a symbol's first candle here, load its stored predictions still waiting for a candle.

        They were made before a restart, or by the instance that had the partition before.
        """
        first_open: dict[str, int] = {}
        for candle in candles:
            first_open[candle.symbol] = min(first_open.get(candle.symbol, candle.open_time_ms), candle.open_time_ms)
        symbols = self._scorer.unrecovered(first_open)
        if not symbols:
            return
        ahead_ms = self._settings.horizon * self._settings.interval_ms
        try:
            stored = self._store.predictions_since({s: first_open[s] - ahead_ms for s in symbols})
        except redis.RedisError as error:
            log.warning("earlier predictions not recovered for scoring: redis away", error=str(error))
            return  # tried again with the next candles
        for prediction in stored:
            self._scorer.on_prediction(prediction, base_close_of(prediction))
        self._scorer.mark_recovered(symbols)

    def _sort(self, messages: list[Message]) -> _Inbox:
        inbox = _Inbox(messages)
        for message in messages:
            topic = message.topic()
            try:
                if topic == self._features_topic:
                    vector = FeatureVector.parse(message.value() or b"")
                    if vector.interval != self._settings.interval:
                        metrics.SKIPPED.labels("other_interval").inc()
                        continue
                    inbox.vectors.append(vector)
                    inbox.vector_messages.append(message)
                    self._symbols_by_partition.setdefault(message.partition() or 0, set()).add(vector.symbol)
                elif topic == self._candles_topic:
                    inbox.candles.append(Candle.parse(message.value() or b""))
            except ContractError as error:
                inbox.refused.append((message, str(error), type(error).__name__))
        return inbox

    def _refuse(self, message: Message, reason: str, error_type: str) -> None:
        assert self._producer is not None
        topic = message.topic() or ""
        source = Topic.FEATURES if topic == self._features_topic else Topic.CANDLES
        self._producer.send(self._topics.dlq(source), dead_letter(message, reason, error_type, SERVICE))
        metrics.REFUSED.labels(str(source), error_type).inc()
        REFUSED_LOG.record(error_type, topic=topic, partition=message.partition(), offset=message.offset(),
                           reason=reason)

    def _observe(self, predictions: list[Prediction], scores: list[LiveScore], in_redis_s: float,
                 vectors: int) -> None:
        interval_s = self._settings.interval_ms / 1000
        for prediction in predictions:
            metrics.PREDICTIONS.labels(prediction.model_name, prediction.model_version).inc()
            metrics.CLOSE_TO_PREDICTION.observe(in_redis_s - prediction.as_of_ms / 1000 - interval_s)
        metrics.BATCH_SIZE.observe(vectors)
        metrics.record_live(scores)


def _exempt_startup_objects_from_gc() -> None:
    """Move everything alive after start-up (libraries, the first model) out of the cyclic GC's reach.

    With TensorFlow and MLflow imported a full collection scans about half a million objects
    and stalls the loop for about a second, which would land on some window boundary. Later
    models are not frozen, so a model swapped out is still freed.
    """
    gc.collect()
    gc.freeze()
