"""A burst of ten times the normal trade rate: the candle builder's lag grows, then drains to zero,
its memory stays bounded, and every trade of the burst is in a candle.

Trades are stamped with the wall clock, as live trades are. The lag is the candle builder
group's committed offsets against the high watermarks of the trades topic, measured here and
also as the service exports it (``tickcast_consumer_group_lag`` on its /metrics endpoint, what
Prometheus scrapes); memory is the service process's resident set size from /proc.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
import uuid
from pathlib import Path

import pytest
from candle_builder.aggregate import build_candles
from confluent_kafka import Consumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from support.services import ServiceProcess, Stack, free_port, http_text, read_all, stopped_at_exit, wait_until
from tickcast.contracts import Candle, Trade
from tickcast.kafka import CheckedProducer
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT"]
NORMAL_RATE = 150  # trades per second over all symbols
BURST_FACTOR = 10
PHASES = (("before", 20.0, 1), ("burst", 25.0, BURST_FACTOR), ("after", 20.0, 1))  # a scaled-down minute


class LagProbe:
    """Committed offsets of a group against the topic's high watermarks, through one client."""

    def __init__(self, settings: KafkaSettings, group: str, topic: str) -> None:
        self._consumer = Consumer({**settings.client_config(), "group.id": group, "enable.auto.commit": False,
                                   "client.id": f"lag-probe-{uuid.uuid4().hex[:6]}"})
        partitions = self._consumer.list_topics(topic, timeout=10).topics[topic].partitions
        self._partitions = [TopicPartition(topic, p) for p in partitions]

    def lag(self) -> int:
        committed = {tp.partition: max(tp.offset, 0) for tp in self._consumer.committed(self._partitions, timeout=10)}
        total = 0
        for tp in self._partitions:
            high = self._consumer.get_watermark_offsets(tp, timeout=10)[1]
            total += max(0, high - committed[tp.partition])
        return total

    def close(self) -> None:
        self._consumer.close()


class ExportedLag:
    """The group lag a service exports on its /metrics endpoint, and when it was measured."""

    def __init__(self, port: int, group: str) -> None:
        self._url = f"http://127.0.0.1:{port}/metrics"
        self._group = group

    def read(self) -> tuple[float, float] | None:
        """(lag, unix time of its measurement); None before the first measurement or if unreachable."""
        text = http_text(self._url, timeout=2.0)
        if text is None:
            return None
        values = {sample.name: sample.value for family in text_string_to_metric_families(text)
                  for sample in family.samples if sample.labels.get("group") == self._group}
        lag = values.get("tickcast_consumer_group_lag")
        measured = values.get("tickcast_consumer_lag_last_success_timestamp_seconds")
        return None if lag is None or measured is None else (lag, measured)

    def lag(self) -> float | None:
        reading = self.read()
        return None if reading is None else reading[0]


class Feed:
    """Trades of every symbol at a changing rate, stamped with the wall clock, in one thread."""

    def __init__(self, settings: KafkaSettings, topic: str) -> None:
        self._producer = CheckedProducer(settings)
        self._topic = topic
        self._rng = random.Random(5)
        self._prices = {symbol: 100.0 * (index + 1) for index, symbol in enumerate(SYMBOLS)}
        self._ids = dict.fromkeys(SYMBOLS, 0)
        self.sent: list[Trade] = []
        self.phase = "idle"

    def run(self, phases: tuple[tuple[str, float, int], ...]) -> None:
        for name, seconds, factor in phases:
            self.phase = name
            rate = NORMAL_RATE * factor
            started = time.monotonic()
            count = 0
            while (elapsed := time.monotonic() - started) < seconds:
                due = int(elapsed * rate)
                while count < due:
                    self._send()
                    count += 1
                self._producer.poll(0)
                time.sleep(0.01)
        self._producer.flush(60)
        self.phase = "done"

    def _send(self) -> None:
        symbol = self._rng.choice(SYMBOLS)
        self._ids[symbol] += 1
        self._prices[symbol] = round(self._prices[symbol] * (1 + self._rng.gauss(0, 0.0003)), 2)
        quantity = round(self._rng.uniform(0.001, 1.0), 5)
        trade = Trade(symbol=symbol, trade_id=self._ids[symbol], price=self._prices[symbol], quantity=quantity,
                      quote_quantity=round(self._prices[symbol] * quantity, 8),
                      timestamp_ms=int(time.time() * 1000), is_buyer_maker=self._rng.random() < 0.5,
                      source="synthetic")
        self._producer.send(self._topic, trade)
        self.sent.append(trade)


def test_a_burst_of_ten_times_the_rate_drains_with_bounded_memory(
    kafka_settings: KafkaSettings, topics: TopicNames, namespace: str, tmp_path: Path, record_property,
) -> None:
    stack = Stack(tmp_path, namespace)
    metrics_port = free_port()
    builder: ServiceProcess = stack.candle_builder(METRICS_PORT=str(metrics_port), METRICS_LAG_INTERVAL_S="1")
    trades_topic = topics(Topic.TRADES)
    group = f"{namespace}candle-builder"
    exported = ExportedLag(metrics_port, group)
    samples: list[tuple[str, float, int, int]] = []  # phase, seconds, lag, rss
    exported_samples: list[tuple[str, float]] = []  # phase, lag the service exports

    with stopped_at_exit(builder):
        builder.start()
        feed = Feed(kafka_settings, trades_topic)
        # Warm up: the service is consuming (a first trade made it into its committed offsets).
        feed.run((("warm-up", 3.0, 1),))
        probe = LagProbe(kafka_settings, group, trades_topic)
        try:
            wait_until(lambda: probe.lag() == 0, 180, "the candle builder to catch up before the burst", [builder])
            wait_until(lambda: exported.lag() == 0, 60, "the exported lag to show the catch-up", [builder])
            feeder = threading.Thread(target=feed.run, args=(PHASES,), daemon=True)
            started = time.monotonic()
            feeder.start()
            while feeder.is_alive():
                samples.append((feed.phase, time.monotonic() - started, probe.lag(), builder.rss_bytes()))
                if (exported_now := exported.lag()) is not None:
                    exported_samples.append((feed.phase, exported_now))
                builder.assert_alive()
                time.sleep(0.25)
            feeder.join()
            drained_at = wait_until(lambda: probe.lag() == 0 and time.monotonic(), 180, "the lag to drain",
                                    [builder], poll=0.25)
            final_lag = probe.lag()
            # The exported value drains too: zero, from a measurement taken after the drain (not a stale one).
            drained_wall = time.time()
            exported_final = wait_until(
                lambda: (reading := exported.read()) is not None and reading[1] > drained_wall and reading,
                60, "the exported lag to be measured after the drain", [builder], poll=0.25)
        finally:
            probe.close()
        expected = {(c.symbol, c.open_time_ms): c for c in build_candles(feed.sent, ["1m"])}

        def candles_complete() -> dict | None:
            candles = read_all(kafka_settings, topics(Topic.CANDLES), Candle, idle=1.0)
            by_key = {(c.symbol, c.open_time_ms): c for c in candles}
            assert len(by_key) == len(candles), "a candle was repeated"
            return by_key if expected.keys() <= by_key.keys() else None

        candles = wait_until(candles_complete, 180, "the candles of every trade (idle close)", [builder])
        rss_after = builder.rss_bytes()

    for key, candle in expected.items():
        assert candles[key] == candle, key
    assert sum(c.trade_count for c in expected.values()) == len(feed.sent)

    def phase(name: str) -> list[tuple[str, float, int, int]]:
        return [sample for sample in samples if sample[0] == name]

    lag_before = max(s[2] for s in phase("before"))
    lag_burst = max(s[2] for s in phase("burst") + phase("after"))
    exported_before = max((lag for name, lag in exported_samples if name == "before"), default=None)
    exported_burst = max((lag for name, lag in exported_samples if name in ("burst", "after")), default=None)
    rss_before = statistics.median(s[3] for s in phase("before"))
    rss_peak = max(s[3] for s in samples)
    figures = {
        "trades": len(feed.sent), "normal_rate_per_s": NORMAL_RATE, "burst_rate_per_s": NORMAL_RATE * BURST_FACTOR,
        "max_lag_before": lag_before, "max_lag_burst": lag_burst, "final_lag": final_lag,
        "exported_max_lag_before": exported_before, "exported_max_lag_burst": exported_burst,
        "exported_final_lag": exported_final[0], "exported_samples": len(exported_samples),
        "drained_after_feed_end_s": round(drained_at - started - sum(p[1] for p in PHASES), 1),
        "rss_before_mb": round(rss_before / 2**20, 1), "rss_peak_mb": round(rss_peak / 2**20, 1),
        "rss_peak_ratio": round(rss_peak / rss_before, 2), "rss_after_mb": round(rss_after / 2**20, 1),
    }
    print(f"\nburst: {figures}")
    for name, value in figures.items():
        record_property(name, value)
    assert lag_burst > lag_before, "ten times the rate should show as consumer lag"
    assert final_lag == 0
    assert exported_burst is not None and exported_burst > 0, "the exported lag did not rise during the burst"
    assert exported_final[0] == 0, "the exported lag did not drain to zero"
    assert rss_peak < 2.0 * rss_before, f"memory grew {rss_peak / rss_before:.2f}x during the burst"
