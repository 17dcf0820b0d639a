"""A 90 s broker outage does not cost the live producer its exchange connection, nor a single trade.

Binance pings every 20 s and drops a connection that has not answered within a minute, so
nothing on the websocket's event loop may block while the broker is away. Here the loopback
exchange pings every 2 s and drops after 6 s without a pong (``PING_INTERVAL``/``PONG_TIMEOUT``,
ten times stricter than Binance's 20 s / 60 s), and the producer's queue holds only 2,000 trades,
so it is full a few seconds into the outage and the stream must wait for room without blocking
the loop. The outage lasts ``LIVE_OUTAGE_SECONDS`` (default 90, Binance's concern being anything
over its 60 s pong deadline). The broker is the test's own (``own_broker``), stopped and started.
"""

from __future__ import annotations

import os
import time

import pytest
from integration.trade_producer.conftest import read_topic
from integration.trade_producer.fake_binance import FakeBinance
from integration.trade_producer.live_process import live_producer
from integration.trade_producer.test_live import _scrape
from support.services import free_port
from tickcast.contracts import Trade
from tickcast.kafka import ensure_topics
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

from support.infra import LocalKafka

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.broker_restart]

PING_INTERVAL, PONG_TIMEOUT = 2.0, 6.0
OUTAGE_SECONDS = float(os.environ.get("LIVE_OUTAGE_SECONDS", "90"))


def test_broker_outage_keeps_the_exchange_connection_and_every_trade(
    own_broker: LocalKafka, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", own_broker.bootstrap)
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", namespace)
    monkeypatch.setenv("KAFKA_PARTITIONS", "1")
    settings = KafkaSettings()
    topics = TopicNames(settings)
    ensure_topics(settings, topics.specs())
    metrics_port = free_port()
    with FakeBinance({"BTCUSDT": 1}, ping_interval=PING_INTERVAL, pong_timeout=PONG_TIMEOUT) as fake:
        with live_producer(
            fake, "--symbols", "BTCUSDT", "--no-control", TRADE_PRODUCER_METRICS_PORT=str(metrics_port),
            TRADE_PRODUCER_PRODUCER_QUEUE_MESSAGES="2000",
            # Frames wait in python-binance's queue while ours is full: room for the whole outage at 100/s.
            TRADE_PRODUCER_SOCKET_QUEUE_SIZE="50000",
        ) as producer:  # fmt: skip
            fake.wait_for_subscribers(1)
            fake.run_market(trades_per_second=100)
            time.sleep(3.0)
            away_from = time.monotonic()
            own_broker.script("stop")
            time.sleep(max(OUTAGE_SECONDS - (time.monotonic() - away_from), 0.0))
            own_broker.script("start")
            outage = time.monotonic() - away_from
            pings_during_outage = fake.pings_sent
            time.sleep(2.0)
            fake.stop_market()
            fake.trade("BTCUSDT")
            market = fake.all_trades("BTCUSDT")
            records = read_topic(settings, topics(Topic.TRADES), expected=len(market), timeout=180)
            metrics = _scrape(metrics_port)
            producer.terminate(timeout=400)

    assert producer.exit_code == 0, producer.stderr[-3000:]
    print(f"\nlive broker outage: outage_s={outage:.1f} trades={len(market)} pings={pings_during_outage} "
          f"queue_full_s={metrics.get(('trade_producer_produce_queue_full_seconds_total', ''), 0):.1f}")
    assert outage >= OUTAGE_SECONDS
    # One connection all along: every ping answered in time, no reconnect.
    assert fake.connections == 1 and "no pong" not in fake.closed
    assert pings_during_outage >= OUTAGE_SECONDS / PING_INTERVAL - 2
    assert ("trade_producer_reconnects_total", 'reason="disconnect"') not in metrics
    # The producer's queue was full during the outage, and waited instead of blocking.
    assert metrics[("trade_producer_produce_queue_full_seconds_total", "")] > 0
    trades = [Trade.parse(record.value) for record in records]
    assert [t.trade_id for t in trades] == [row["id"] for row in market]  # each once, in order
    assert {t.source for t in trades} == {"live"}
