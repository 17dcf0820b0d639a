"""Window state built against topics that were since deleted and created again is discarded, not trusted.

Met by recreated topics (as by a wiped broker), the old windows would refuse every new trade as
late (they had seen later ones) and the changelog's saved offset would run past the new
changelog's end. The builder sees that the topics are not the ones its state was built from,
discards the state with one warning, and builds the new trades' candles with no refused trade.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest
from candle_builder.aggregate import build_candles
from candle_builder.service import changelog_prefix
from confluent_kafka.admin import AdminClient
from integration.candle_builder.harness import (
    free_port,
    produce_trades,
    read_candles,
    running,
    synthetic_trades,
    wait_for,
)
from support.kafka import consume
from tickcast.kafka import ensure_topics
from tickcast.local_state import MARKER, BrokerIdentity, has_state, read_identity
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HOUR_MS = 3_600_000
MINUTES = 12
WARNING = "local state does not match the broker"


def scrape(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def recreate_topics(settings: KafkaSettings, group: str) -> None:
    """Delete every topic of the namespace and the group's changelogs, then create the topics again."""
    names = TopicNames(settings)
    admin = AdminClient(settings.client_config())
    doomed = [name for name in admin.list_topics(timeout=30).topics
              if name.startswith((settings.topic_prefix, changelog_prefix(group)))]
    for future in admin.delete_topics(doomed, operation_timeout=30).values():
        future.result(30)
    wait_for(lambda: not set(doomed) & set(admin.list_topics(timeout=30).topics), 60, "the topics to be deleted")
    time.sleep(1.0)  # a name just deleted can still be reported as existing to a create
    ensure_topics(settings, names.specs())


def test_state_from_recreated_topics_is_discarded(kafka_settings: KafkaSettings, tmp_path: Path) -> None:
    names = TopicNames(kafka_settings)
    group = f"{kafka_settings.topic_prefix}candle-builder"
    state = tmp_path / "state" / group
    now_hour = int(time.time() * 1000) // HOUR_MS * HOUR_MS
    first = synthetic_trades(["BTCUSDT"], now_hour - 2 * HOUR_MS, MINUTES, per_minute=20, seed=1)
    # Earlier than everything the first run saw: all late to its windows.
    second = synthetic_trades(["BTCUSDT"], now_hour - 5 * HOUR_MS, MINUTES, per_minute=20, seed=2)

    produce_trades(kafka_settings, first)
    with running(tmp_path, CANDLE_INTERVALS="1m") as service:
        read_candles(kafka_settings, expected=len(build_candles(first, ["1m"])), timeout=120)
        service.assert_alive()
    assert has_state(state), "the first run left window state behind"
    built = BrokerIdentity.from_json((state / MARKER).read_text())
    assert names(Topic.TRADES) in built.topics

    recreate_topics(kafka_settings, group)
    assert read_identity(kafka_settings, [names(Topic.TRADES)]).topics[names(Topic.TRADES)].topic_id != \
        built.topics[names(Topic.TRADES)].topic_id

    produce_trades(kafka_settings, second)
    expected = build_candles(second, ["1m"])
    port = free_port()
    with running(tmp_path, CANDLE_INTERVALS="1m", METRICS_PORT=str(port)) as service:
        candles = read_candles(kafka_settings, expected=len(expected), timeout=120)
        wait_for(lambda: scrape(port, "candle_builder_trades_accepted_total") == len(second), 60,
                 "every trade of the new topics accepted")
        late = scrape(port, "candle_builder_trades_late_total")
        service.assert_alive()

    log = service.log_path.read_text(errors="replace")
    assert log.count(WARNING) == 1, log[-3000:]
    assert "was deleted and created again" in log
    assert late == 0
    assert consume(kafka_settings, names.dlq(Topic.TRADES), timeout=5, idle=1.0) == [], "no trade refused"
    assert [(c.open_time_ms, c.trade_count, c.close) for c in candles] == \
        [(c.open_time_ms, c.trade_count, c.close) for c in expected]
