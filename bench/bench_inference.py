"""Benchmark (b): N symbols' feature vectors arrive at one window boundary; how soon are predictions in Redis?

For each round the script waits for a boundary of the (short) bench interval,
produces one FeatureVector per symbol for the candle that just closed, and
times, per symbol, the moment its prediction is published by Redis (the
inference service publishes in the same script call that writes latest and
history). Latency = that moment - the candle's close. The inference service runs
in its own process, as deployed, against the real broker and Redis.

Configurations are compared side by side: the persistence baseline, a real Keras
MLP (batched, as served), the same MLP with five shadow challengers (five more Keras
MLPs, whose predictions go to ``predictions.challengers`` in the same transaction), and
the MLP with batching turned off.

    uv run python bench/bench_inference.py --symbols 1000 --rounds 8
    uv run python bench/bench_inference.py --only-challengers   # champion-only vs five challengers

Needs Kafka and Redis: KAFKA_BOOTSTRAP_SERVERS and REDIS_URL (or --bootstrap/--redis-url).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import threading
import time
import uuid
from dataclasses import dataclass
from multiprocessing.synchronize import Event as EventType

import numpy as np
import redis
from confluent_kafka import OFFSET_END, Consumer, TopicPartition

from inference.config import Settings
from inference.model import Servable
from inference.service import InferenceService
from tickcast.contracts import FeatureVector
from tickcast.intervals import interval_ms
from tickcast.kafka import CheckedProducer, ensure_topics
from tickcast.logging import configure_logging
from tickcast.redis_keys import RedisKeys
from tickcast.settings import KafkaSettings, RedisSettings
from tickcast.topics import Topic, TopicNames

BUDGET_S = 1.0
FEATURES = [f"f{i:02d}" for i in range(24)]  # about the width of the real feature set


@dataclass(frozen=True)
class Config:
    label: str
    model: str  # baseline | mlp
    batch_max_messages: int
    challengers: int = 0  # Keras MLPs served in shadow beside the champion


CHALLENGERS = 5


class StaticChampion:
    """A registry whose champion (and challengers) never move; maybe no champion."""

    def __init__(self, model: Servable | None, challengers: list[Servable] | None = None) -> None:
        self.model_name = model.name if model else "bench"
        self._model = model
        self._challengers = {c.version: c for c in challengers or []}

    def challenger_versions(self) -> list[str]:
        return list(self._challengers)

    def load_version(self, version: str) -> Servable:
        return self._challengers[version]

    def champion_version(self) -> str | None:
        return self._model.version if self._model else None

    def load_champion(self) -> Servable | None:
        return self._model


def keras_mlp(interval: str, horizon: int, version: str = "1", seed: int = 0) -> Servable:
    """A real Keras MLP (random weights) wrapped exactly as training serves it."""
    import keras

    from tickcast.model_bundle.bundle import BundleMetadata
    from tickcast.model_bundle.scaling import Scaler
    from tickcast.model_bundle.servable import ServableModel

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((1, len(FEATURES))), keras.layers.Flatten(),
                              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(1)])
    metadata = BundleMetadata("mlp", ["BENCH"], interval, [horizon], 1, FEATURES, "fs-bench", 0.0005)
    return ServableModel.from_parts(metadata, Scaler.identity(FEATURES, 1), model, "bench-mlp", version)


class Arrivals:
    """Receive time of every prediction published on the live channel, by (symbol, as_of)."""

    def __init__(self, client: redis.Redis, channel: str) -> None:
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(channel)
        self.seen: dict[tuple[str, int], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            message = self._pubsub.get_message(timeout=0.05)
            if message:
                now = time.time()
                prediction = json.loads(message["data"])
                self.seen[(prediction["symbol"], prediction["as_of_ms"])] = now

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._pubsub.close()


class CommittedArrivals:
    """Receive time of every champion prediction as a read_committed reader of ``predictions`` sees it.

    Redis is written before the transaction commits, so this is later: it includes the commit of the
    batch's transaction, which carries the challengers' predictions too.
    """

    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        self._consumer = Consumer({**kafka.client_config(), "group.id": f"bench-{uuid.uuid4().hex}",
                                   "enable.auto.commit": False, "isolation.level": "read_committed"})
        partitions = self._consumer.list_topics(topic, timeout=30).topics[topic].partitions
        self._consumer.assign([TopicPartition(topic, p, OFFSET_END) for p in partitions])
        self.seen: dict[tuple[str, int], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            for message in self._consumer.consume(1000, timeout=0.05):
                if message.error() is None:
                    now = time.time()
                    prediction = json.loads(message.value())
                    self.seen[(prediction["symbol"], prediction["as_of_ms"])] = now

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._consumer.close()


def wait_for_boundary(span_ms: int) -> int:
    now_ms = time.time() * 1000
    boundary = (math.floor(now_ms / span_ms) + 1) * span_ms
    time.sleep(max(0.0, boundary - now_ms) / 1000)
    return int(boundary)


def serve(settings: Settings, model_kind: str, challengers: int, ready: EventType, stop: EventType) -> None:
    """The inference service as deployed: alone in its own process."""
    configure_logging(settings.log_level)
    model = keras_mlp(settings.interval, settings.horizon) if model_kind == "mlp" else None
    shadow = [keras_mlp(settings.interval, settings.horizon, str(2 + i), seed=1 + i) for i in range(challengers)]
    service = InferenceService(settings, StaticChampion(model, shadow))
    stopping = threading.Event()

    def relay() -> None:
        service.assigned.wait()
        ready.set()
        stop.wait()
        stopping.set()

    threading.Thread(target=relay, daemon=True).start()
    service.run(stopping)


def run_config(config: Config, kafka: KafkaSettings, redis_settings: RedisSettings, symbols: list[str],
               rounds: int, interval: str, log_level: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Latencies (seconds) of each round, warm-up round first: in Redis, and committed on Kafka."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}-"
    kafka = kafka.model_copy(update={"topic_prefix": prefix})
    redis_settings = redis_settings.model_copy(update={"key_prefix": prefix})
    ensure_topics(kafka, TopicNames(kafka).specs())
    settings = Settings(kafka=kafka, redis=redis_settings, group_id=f"{prefix}inference", interval=interval,
                        horizon=5, batch_max_messages=config.batch_max_messages, champion_poll_seconds=3600,
                        log_level=log_level)
    spawn = multiprocessing.get_context("spawn")
    ready, stop = spawn.Event(), spawn.Event()
    server = spawn.Process(target=serve, args=(settings, config.model, config.challengers, ready, stop), daemon=True)
    server.start()
    if not ready.wait(180):
        server.kill()
        raise RuntimeError("inference got no partitions within 180 s")

    client = redis.Redis.from_url(redis_settings.url)
    arrivals = Arrivals(client, RedisKeys(prefix).predictions_channel())
    committed = CommittedArrivals(kafka, TopicNames(kafka)(Topic.PREDICTIONS))
    producer = CheckedProducer(kafka)
    topic = TopicNames(kafka)(Topic.FEATURES)
    span_ms = interval_ms(interval)
    rng = np.random.default_rng(1)
    latencies: list[np.ndarray] = []
    on_kafka: list[np.ndarray] = []
    try:
        for _ in range(rounds + 1):  # +1: the first round warms up caches, JIT and connections
            boundary = wait_for_boundary(span_ms)
            as_of = boundary - span_ms  # the candle that has just closed
            for symbol in symbols:
                values = dict(zip(FEATURES, rng.normal(size=len(FEATURES)).tolist(), strict=True))
                vector = FeatureVector(symbol=symbol, interval=interval, timestamp_ms=as_of,
                                       feature_set_version="fs-bench", values=values, close=100.0)
                producer.send(topic, vector)
            producer.flush()
            deadline = time.monotonic() + 120
            while (sum((s, as_of) in arrivals.seen for s in symbols) < len(symbols)
                   or sum((s, as_of) in committed.seen for s in symbols) < len(symbols)):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{config.label}: predictions missing after 120 s")
                time.sleep(0.01)
            close_s = boundary / 1000
            latencies.append(np.array([arrivals.seen[(s, as_of)] - close_s for s in symbols]))
            on_kafka.append(np.array([committed.seen[(s, as_of)] - close_s for s in symbols]))
    finally:
        arrivals.close()
        committed.close()
        stop.set()
        server.join(timeout=60)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()
    return latencies, on_kafka


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--symbols", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=8, help="Measured window boundaries per configuration.")
    parser.add_argument("--interval", default="2s", help="Bench candle interval (short, to reach boundaries fast).")
    parser.add_argument("--bootstrap", default=None, help="Kafka bootstrap servers (default: KAFKA_BOOTSTRAP_SERVERS).")
    parser.add_argument("--redis-url", default=None, help="Redis URL (default: REDIS_URL).")
    parser.add_argument("--log-level", default="WARNING", help="Of the service (DEBUG shows each batch's timing).")
    parser.add_argument("--skip-unbatched", action="store_true", help="Leave out the slow batch-of-one run.")
    parser.add_argument("--only-challengers", action="store_true",
                        help="Only the MLP champion alone and with five challengers, side by side.")
    args = parser.parse_args()
    configure_logging("WARNING")

    kafka = KafkaSettings(**({"bootstrap_servers": args.bootstrap} if args.bootstrap else {}))
    redis_settings = RedisSettings(**({"url": args.redis_url} if args.redis_url else {}))
    symbols = [f"B{i:05d}USDT" for i in range(args.symbols)]
    champion_only = Config("keras mlp, batched", "mlp", 5000)
    with_challengers = Config(f"mlp + {CHALLENGERS} challengers", "mlp", 5000, CHALLENGERS)
    configs = [Config("baseline, batched", "baseline", 5000), champion_only, with_challengers]
    if args.only_challengers:
        configs = [champion_only, with_challengers]
    elif not args.skip_unbatched:
        configs.append(Config("keras mlp, batch of 1", "mlp", 1))

    print(f"{args.symbols} symbols per window boundary, {args.rounds} measured rounds (+1 warm-up), "
          f"interval {args.interval}; latency = prediction published by Redis - candle close")
    print(f"{'configuration':<24}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'p99/budget':>12}{'warm-up p99 ms':>16}")
    results: dict[str, float] = {}
    committed_p99: dict[str, float] = {}
    per_round: list[str] = []
    for config in configs:
        rounds, on_kafka = run_config(config, kafka, redis_settings, symbols, args.rounds, args.interval,
                                      args.log_level)
        committed_p99[config.label] = float(np.percentile(np.concatenate(on_kafka[1:]), 99) * 1000)
        measured = np.concatenate(rounds[1:])
        p50, p95, p99 = np.percentile(measured, [50, 95, 99]) * 1000
        results[config.label] = p99
        print(f"{config.label:<24}{p50:>9.0f}{p95:>9.0f}{p99:>9.0f}{measured.max() * 1000:>9.0f}"
              f"{p99 / 1000 / BUDGET_S:>12.2f}{np.percentile(rounds[0], 99) * 1000:>16.0f}", flush=True)
        per_round.append(f"{config.label:<24}" + " ".join(f"{r.max() * 1000:>6.0f}" for r in rounds[1:]))

    print("\nslowest prediction of each measured round, ms:")
    print("\n".join(per_round))
    served = results["keras mlp, batched"]
    print(f"\np99 under {BUDGET_S:.0f} s with the MLP, batched: {'yes' if served < BUDGET_S * 1000 else 'NO'}")
    print("\np99 ms until committed on Kafka (read_committed reader of predictions; includes the commit):")
    print("\n".join(f"{label:<24}{p99:>9.0f}" for label, p99 in committed_p99.items()))
    for what, figures in (("in Redis", results), ("committed on Kafka", committed_p99)):
        ratio = figures[with_challengers.label] / figures[champion_only.label]
        print(f"{CHALLENGERS} challengers vs champion-only p99, {what}: {ratio:.2f}x "
              f"(target <= 2x: {'yes' if ratio <= 2 else 'NO'})")
    if "baseline, batched" in results:
        print(f"MLP vs baseline p99: {served / results['baseline, batched']:.2f}x")
    if "keras mlp, batch of 1" in results:
        print(f"batch of 1 vs batched p99: {results['keras mlp, batch of 1'] / served:.1f}x")


if __name__ == "__main__":
    main()
