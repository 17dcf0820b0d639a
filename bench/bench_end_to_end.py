"""End to end: from a candle's window closing to its prediction in Redis, with and without a day of trades
being replayed at full speed through the same pipeline.

Every service runs as its own process (``python -m candle_builder run``, ``feature_pipeline stream``,
``inference run``) against the real broker and Redis, with a fresh topic and key prefix.

* Probe symbols trade in real time (exchange time = wall clock, a few trades a second each). The
  latency of one candle = the moment its prediction is first seen in Redis - the end of its window
  (open time + 1 minute). The candle builder closes a window ``CANDLE_GRACE_MS`` (2 s) after its end,
  so about 2 s of every figure is that grace, by design.
* Load: a real day of BTCUSDT replayed as fast as the pipeline takes it, through the project's replay
  (``python -m trade_producer replay <file> --speed max``). No real full day of raw trades is available
  offline, but the exchange's real 1-minute klines are (``../shared/data``): the day's trades are rebuilt
  minute by minute from them (``bench/real_day_trades.py``: the real trade count, open, close, high, low,
  volume and taker-buy volume of every minute; the prices, sizes and times inside a minute are
  invented), checked at start-up to give back exactly the real klines, and written as a trades dump file.
  Default: the busiest day in the files (``--day``; ``--max-trades`` caps it to its first whole minutes).
  ``--synthetic-load`` (or no ``../shared/data``) falls back to the trade producer's SYNTHETIC feed,
  printed as such. The load symbol sits in its own partition, because its exchange time is not the
  probes' wall clock.
* Reference, side by side: the same probes on the same pipeline with nothing else running.

Before measuring, 24 hours of sparse history per probe symbol are fed (the feature set's longest
lookback) so that every probe candle has a feature vector. No champion is registered: inference
serves the persistence baseline (its model call is not what is measured here; see bench_inference).

    uv run python bench/bench_end_to_end.py [--probes 10] [--minutes 3] [--day 2024-03-05] [--max-trades N]
    uv run python bench/bench_end_to_end.py --synthetic-load [--load-hours 24]

Needs Kafka and Redis: KAFKA_BOOTSTRAP_SERVERS and REDIS_URL (defaults 127.0.0.1:9092, :6379).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import redis
from confluent_kafka.admin import AdminClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from real_day_trades import (
    busiest_day,
    candle_builder_mismatches,
    kline_mismatches,
    read_day,
    reconstruct_trades,
    write_trades_csv,
)
from support.services import (
    HOUR_MS,
    MINUTE_MS,
    ServiceProcess,
    Stack,
    consumer_lag,
    history_trades,
    produce,
    wait_until,
)
from tickcast.contracts import Prediction, Trade
from tickcast.kafka import CheckedProducer, ensure_topics
from tickcast.redis_keys import RedisKeys
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames, TopicSpec

PARTITIONS = 3
LOAD_SYMBOL = "BTCUSDT"
SYNTHETIC_RATE_PER_DAY = 1_400_000  # the trade producer's synthetic feed, per symbol
SHARED_DATA = ROOT.parent / "shared" / "data"  # real Binance dumps beside the repository (not shipped)


class Load:
    """The day replayed as load: how to start it and how to describe it honestly in the report."""

    def __init__(self, args: tuple[str, ...], trades: int, hours: float, description: str) -> None:
        self.args, self.trades, self.hours, self.description = args, trades, hours, description


def real_day_load(data_dir: Path, day: str | None, max_trades: int, seed: int, check_minutes: int,
                  workdir: Path) -> Load:
    """Rebuild a real day's trades from its klines, prove they give back those klines, write a dump file."""
    date = day or busiest_day(data_dir, LOAD_SYMBOL)
    kline_day = read_day(data_dir, LOAD_SYMBOL, date)
    klines, total = [], 0
    for kline in kline_day.klines:  # whole minutes from the day's start, up to the cap
        if max_trades and total + kline.trade_count > max_trades:
            break
        klines.append(kline)
        total += kline.trade_count
    capped = len(klines) < len(kline_day.klines)
    kline_day = type(kline_day)(kline_day.symbol, kline_day.date, kline_day.lot_decimals, klines)
    trades = reconstruct_trades(klines, seed=seed)
    problems = kline_mismatches(kline_day, trades) + candle_builder_mismatches(kline_day, trades, check_minutes)
    if problems:
        raise SystemExit("the rebuilt trades do not give back the real klines:\n" + "\n".join(problems))
    log(f"{date}: {len(trades):,} trades rebuilt from {len(klines)} real klines; every minute's OHLC, volume, "
        f"taker-buy volume and trade count equal the real kline's ({check_minutes} minutes also through "
        "candle_builder.aggregate.build_candles)")
    path = workdir / f"{LOAD_SYMBOL}-trades-{date}.csv"  # the name the replay reads symbol and kind from
    write_trades_csv(trades, kline_day.lot_decimals, path)
    hours = len(klines) / 60
    cap = (f", CAPPED by --max-trades {max_trades:,} to the day's first {hours:g} h" if capped else "")
    description = (f"a real day's per-minute trade counts, volumes and prices ({LOAD_SYMBOL} {date}, "
                   f"{len(trades):,} trades{cap}) with the trades inside each minute reconstructed, checked at "
                   "start-up to give back the real klines exactly (OHLC, volume, taker-buy volume, trade count), "
                   "replayed with `trade_producer replay --speed max`")
    return Load(("replay", str(path), "--speed", "max", "--no-progress"), len(trades), hours, description)


def synthetic_load(hours: float, now_ms: int, reason: str) -> Load:
    trades = int(SYNTHETIC_RATE_PER_DAY * hours / 24)
    start = datetime.fromtimestamp((now_ms - 26 * HOUR_MS) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    log(f"*** SYNTHETIC LOAD ({reason}): invented trades, not market data ***")
    description = (f"{trades:,} SYNTHETIC trades of {LOAD_SYMBOL} ({hours:g} h at a busy real day's rate, "
                   f"~{SYNTHETIC_RATE_PER_DAY / 86400:.0f}/s; {reason}), NOT market data, replayed at full speed")
    return Load(("synthetic", "--symbols", LOAD_SYMBOL, "--trades", str(trades), "--start", start,
                 "--speed", "max", "--no-progress"), trades, hours, description)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def partitions_of(settings: KafkaSettings, names: list[str]) -> dict[str, int]:
    """Where the services' producers put each key: asked of the broker on a scratch topic."""
    scratch = f"{settings.topic_prefix}partition-probe"
    ensure_topics(settings, [TopicSpec(scratch, PARTITIONS, settings.replication_factor)])
    producer = CheckedProducer(settings)
    found: dict[str, int] = {}
    for name in names:
        producer._producer.produce(scratch, key=name.encode(), value=b"",
                                   on_delivery=lambda error, message: found.__setitem__(
                                       message.key().decode(), message.partition()))
    producer.flush(30)
    AdminClient(settings.client_config()).delete_topics([scratch])
    return found


def probe_symbols(settings: KafkaSettings, count: int) -> list[str]:
    """Symbols none of which shares a partition with the load symbol."""
    candidates = [f"P{index:03d}USDT" for index in range(8 * count)]
    where = partitions_of(settings, [LOAD_SYMBOL, *candidates])
    return [name for name in candidates if where[name] != where[LOAD_SYMBOL]][:count]


class ProbeFeed:
    """Real-time trades for the probe symbols (timestamp = now), a few a second each."""

    def __init__(self, settings: KafkaSettings, topic: str, symbols: list[str], first_ids: dict[str, int],
                 prices: dict[str, float]) -> None:
        self._producer = CheckedProducer(settings, **{"linger.ms": 1})
        self._topic, self._symbols = topic, symbols
        self._ids, self._prices = dict(first_ids), dict(prices)
        self._rng = random.Random(3)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._producer.flush(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = int(time.time() * 1000)
            for symbol in self._symbols:
                self._ids[symbol] += 1
                self._prices[symbol] = round(self._prices[symbol] * (1 + self._rng.gauss(0, 0.0004)), 2)
                quantity = round(self._rng.uniform(0.001, 0.5), 5)
                self._producer.send(self._topic, Trade(
                    symbol=symbol, trade_id=self._ids[symbol], price=self._prices[symbol], quantity=quantity,
                    quote_quantity=round(self._prices[symbol] * quantity, 8), timestamp_ms=now,
                    is_buyer_maker=self._rng.random() < 0.5, source="synthetic"))
            self._producer.poll(0)
            self._stop.wait(0.25)


class RedisWatch:
    """Polls each probe's latest prediction; remembers when each (symbol, as_of) was first seen."""

    def __init__(self, url: str, keys: RedisKeys, symbols: list[str]) -> None:
        self._client = redis.Redis.from_url(url)
        self._keys, self._symbols = keys, symbols
        self.seen: dict[tuple[str, int], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        names = [self._keys.latest_prediction(symbol) for symbol in self._symbols]
        while not self._stop.is_set():
            now = time.time()
            for raw in self._client.mget(names):
                if raw:
                    prediction = Prediction.parse(raw)
                    self.seen.setdefault((prediction.symbol, prediction.as_of_ms), now)
            self._stop.wait(0.02)

    def latencies(self, since_ms: int, until_ms: int) -> np.ndarray:
        """Seconds from window end to prediction seen, for windows ending in [since_ms, until_ms)."""
        return np.array([seen - (as_of + MINUTE_MS) / 1000 for (_, as_of), seen in self.seen.items()
                         if since_ms <= as_of + MINUTE_MS < until_ms])

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._client.close()


def feed_history_then_live(settings: KafkaSettings, topic: str, symbols: list[str], what: str) -> ProbeFeed:
    """A day and a bit of history for every symbol (ending at the previous minute), then a live feed, started.

    The live trades carry on from each symbol's last history price as plain trades (their own id space).
    """
    now_ms = int(time.time() * 1000)
    history_end = now_ms - now_ms % MINUTE_MS
    minutes = 24 * 60 + 5
    history = history_trades(symbols, history_end - minutes * MINUTE_MS, minutes, seed=9)
    log(f"feeding {len(history)} history trades for {what}")
    produce(settings, topic, history)
    last = {trade.symbol: trade for trade in history}
    feed = ProbeFeed(settings, topic, symbols, dict.fromkeys(symbols, 0),
                     {symbol: trade.price for symbol, trade in last.items()})
    feed.start()
    return feed


def measure(watch: RedisWatch, minutes: int, what: str) -> np.ndarray:
    """Latencies of the windows that end during the next ``minutes`` whole minutes."""
    now_ms = int(time.time() * 1000)
    first_end = now_ms - now_ms % MINUTE_MS + 2 * MINUTE_MS
    last_end = first_end + minutes * MINUTE_MS
    log(f"measuring {what}: windows ending {datetime.fromtimestamp(first_end / 1000, UTC):%H:%M} .. "
        f"{datetime.fromtimestamp(last_end / 1000, UTC):%H:%M} UTC")
    while time.time() * 1000 < last_end + 30_000:  # + time for the last window's prediction
        time.sleep(1)
    return watch.latencies(first_end, last_end)


def summary(values: np.ndarray) -> tuple[float, float, float]:
    if not len(values):
        return float("nan"), float("nan"), float("nan")
    return float(np.percentile(values, 50)), float(np.percentile(values, 99)), float(values.max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--probes", type=int, default=10, help="Real-time probe symbols.")
    parser.add_argument("--minutes", type=int, default=3, help="Measured minutes (windows) of the reference phase.")
    parser.add_argument("--day", default=None,
                        help=f"Real day (YYYY-MM-DD) of {LOAD_SYMBOL} klines to rebuild the load from "
                             "(default: the day with the most trades in the data).")
    parser.add_argument("--max-trades", type=int, default=0,
                        help="Cap the real day to its first whole minutes holding at most this many trades "
                             "(0: the whole day).")
    parser.add_argument("--data-dir", type=Path, default=SHARED_DATA,
                        help="Folder in Binance's dump layout holding the kline files.")
    parser.add_argument("--seed", type=int, default=7, help="Seed of the trades rebuilt inside each minute.")
    parser.add_argument("--check-minutes", type=int, default=60,
                        help="Minutes of the rebuilt day also checked through the candle builder's aggregation.")
    parser.add_argument("--synthetic-load", action="store_true",
                        help="Load with the trade producer's SYNTHETIC trades instead of a real day.")
    parser.add_argument("--load-hours", type=float, default=24.0, help="Hours of the SYNTHETIC day (fallback only).")
    parser.add_argument("--bootstrap", default=None, help="Kafka bootstrap servers (default: KAFKA_BOOTSTRAP_SERVERS).")
    parser.add_argument("--redis-url", default=None, help="Redis URL (default: REDIS_URL).")
    args = parser.parse_args()

    namespace = f"bench-e2e-{uuid.uuid4().hex[:8]}-"
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = args.bootstrap or os.environ.get("KAFKA_BOOTSTRAP_SERVERS",
                                                                               "127.0.0.1:9092")
    os.environ["REDIS_URL"] = args.redis_url or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    os.environ.update(KAFKA_TOPIC_PREFIX=namespace, KAFKA_PARTITIONS=str(PARTITIONS), REDIS_KEY_PREFIX=namespace)
    settings = KafkaSettings()
    topics = TopicNames(settings)
    ensure_topics(settings, topics.specs())
    probes = probe_symbols(settings, args.probes)

    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as workdir:
        if args.synthetic_load:
            load_day = synthetic_load(args.load_hours, int(time.time() * 1000), "--synthetic-load")
        elif not (args.data_dir / "binance").is_dir():
            load_day = synthetic_load(args.load_hours, int(time.time() * 1000),
                                      f"no real kline data at {args.data_dir}")
        else:
            load_day = real_day_load(args.data_dir, args.day, args.max_trades, args.seed, args.check_minutes,
                                     Path(workdir))
        stack = Stack(Path(workdir), namespace, LOG_LEVEL="WARNING", INFERENCE_LOG_LEVEL="WARNING")
        services: list[ServiceProcess] = [stack.candle_builder(), stack.feature_pipeline(), stack.inference()]
        watch = RedisWatch(os.environ["REDIS_URL"], RedisKeys(namespace), probes)
        feed: ProbeFeed | None = None
        try:
            for service in services:
                service.start()
            feed = feed_history_then_live(settings, topics(Topic.TRADES), probes, f"{len(probes)} probe symbols")
            wait_until(lambda: len(watch.seen) >= len(probes), 600, "the first probe predictions", services, poll=1)

            idle = measure(watch, args.minutes, "reference (probes only)")

            log(f"load: {load_day.description}")
            load = stack.service("load", "trade_producer", *load_day.args, TRADE_PRODUCER_LOG_LEVEL="WARNING")
            load_started = time.monotonic()
            load_start_ms = int(time.time() * 1000)
            load.start()
            group = f"{namespace}candle-builder"
            wait_until(lambda: not load.alive() and consumer_lag(settings, group, topics(Topic.TRADES)) == 0,
                       3600, "the day to be consumed", services, poll=1)
            load_seconds = time.monotonic() - load_started
            assert load.returncode == 0, f"the load producer failed:\n{load.log_tail()}"
            load_end_ms = int(time.time() * 1000)
            time.sleep(30)  # the predictions of the last windows under load
            loaded = watch.latencies(load_start_ms, load_end_ms)
        finally:
            if feed is not None:
                feed.stop()
            watch.close()
            for service in reversed(services):
                service.stop()

    idle_p50, idle_p99, idle_max = summary(idle)
    load_p50, load_p99, load_max = summary(loaded)
    print("\n## End to end: window close to prediction in Redis\n")
    print(f"Pipeline: candle builder -> feature pipeline -> inference (persistence baseline), each its own "
          f"process, real broker and Redis. {len(probes)} real-time probe symbols, {args.minutes} measured "
          f"minutes for the reference. Load: {load_day.description}. The 2 s candle grace is included.\n")
    print("| phase | windows | p50 s | p99 s | max s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| reference: probes only | {len(idle)} | {idle_p50:.2f} | {idle_p99:.2f} | {idle_max:.2f} |")
    print(f"| while the day is replayed | {len(loaded)} | {load_p50:.2f} | {load_p99:.2f} | {load_max:.2f} |")
    print(f"| ratio loaded / reference | | {load_p50 / idle_p50:.2f}x | {load_p99 / idle_p99:.2f}x | |")
    print(f"\nThe day took {load_seconds:.0f} s to go through the candle builder "
          f"({load_day.trades / load_seconds:,.0f} trades/s, {3600 * load_day.hours / load_seconds:.0f}x real time); "
          "the loaded row holds the probe windows that ended meanwhile.")


if __name__ == "__main__":
    main()
