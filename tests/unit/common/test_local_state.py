"""Local state is kept only when the broker it meets is the one, with the topics, it was built from."""

from __future__ import annotations

from pathlib import Path

import structlog
from tickcast.local_state import MARKER, BrokerIdentity, TopicIdentity, has_state, keep_or_discard, mismatch

BUILT = BrokerIdentity("cluster-a", {
    "trades": TopicIdentity("id-trades", {0: 120, 1: 80}),
    "changelog__candle-builder--trades--default": TopicIdentity("id-changelog", {0: 40, 1: 30}),
})


def with_trades(trades: TopicIdentity | None) -> BrokerIdentity:
    """BUILT with its trades topic replaced (None: deleted)."""
    topics = {name: topic for name, topic in BUILT.topics.items() if name != "trades"}
    if trades is not None:
        topics["trades"] = trades
    return BrokerIdentity(BUILT.cluster_id, topics)


def test_the_same_broker_further_on_is_trusted():
    further = BrokerIdentity("cluster-a", {
        "trades": TopicIdentity("id-trades", {0: 500, 1: 80}),
        "changelog__candle-builder--trades--default": TopicIdentity("id-changelog", {0: 40, 1: 31}),
        "candles": TopicIdentity("id-candles", {0: 3}),  # created since: the state cannot depend on it
    })
    assert mismatch(BUILT, further) is None
    assert mismatch(BUILT, BUILT) is None


def test_another_cluster_is_not_trusted():
    reason = mismatch(BUILT, BrokerIdentity("cluster-b", BUILT.topics))
    assert reason is not None and "another Kafka cluster" in reason and "cluster-a" in reason


def test_a_recreated_topic_is_not_trusted():
    recreated = with_trades(TopicIdentity("id-trades-2", {0: 120, 1: 80}))
    reason = mismatch(BUILT, recreated)
    assert reason is not None and "trades was deleted and created again" in reason


def test_a_missing_topic_is_not_trusted():
    reason = mismatch(BUILT, with_trades(None))
    assert reason is not None and "trades no longer exists" in reason


def test_a_partition_that_ends_before_what_the_state_saw_is_not_trusted():
    shorter = BrokerIdentity("cluster-a", {
        "trades": TopicIdentity("id-trades", {0: 120, 1: 80}),
        "changelog__candle-builder--trades--default": TopicIdentity("id-changelog", {0: 12, 1: 30}),
    })
    reason = mismatch(BUILT, shorter)
    assert reason is not None and "partition 0 ends at 12, before offset 40" in reason


def test_state_without_a_record_is_not_trusted():
    assert mismatch(None, BUILT) == "no record of the broker it was built against"


def test_the_record_reads_back_as_written():
    assert BrokerIdentity.from_json(BUILT.to_json()) == BUILT


def fill(directory: Path) -> None:
    (directory / "default" / "0").mkdir(parents=True)
    (directory / "default" / "0" / "CURRENT").write_text("rocksdb")


def test_an_empty_folder_is_recorded(tmp_path: Path):
    state = tmp_path / "candle-builder" / "group"
    assert not keep_or_discard(state, BUILT)
    assert BrokerIdentity.from_json((state / MARKER).read_text()) == BUILT
    assert not has_state(state)


def test_matching_state_is_kept_and_the_record_moves_on(tmp_path: Path):
    keep_or_discard(tmp_path, BUILT)
    fill(tmp_path)
    further = BrokerIdentity("cluster-a", {name: TopicIdentity(t.topic_id, {p: end + 5 for p, end in t.ends.items()})
                                           for name, t in BUILT.topics.items()})
    with structlog.testing.capture_logs() as logs:
        assert not keep_or_discard(tmp_path, further)
    assert (tmp_path / "default" / "0" / "CURRENT").read_text() == "rocksdb"
    assert BrokerIdentity.from_json((tmp_path / MARKER).read_text()) == further
    assert logs == []


def test_state_from_another_cluster_is_discarded_with_one_warning(tmp_path: Path):
    keep_or_discard(tmp_path, BUILT)
    fill(tmp_path)
    fresh = BrokerIdentity("cluster-b", {"trades": TopicIdentity("id-new", {0: 0, 1: 0})})
    with structlog.testing.capture_logs() as logs:
        assert keep_or_discard(tmp_path, fresh, service="candle_builder")
    assert not has_state(tmp_path)
    assert BrokerIdentity.from_json((tmp_path / MARKER).read_text()) == fresh
    assert len(logs) == 1 and logs[0]["log_level"] == "warning"
    assert "another Kafka cluster" in logs[0]["reason"] and logs[0]["service"] == "candle_builder"


def test_state_with_no_or_an_unreadable_record_is_discarded(tmp_path: Path):
    fill(tmp_path)
    assert keep_or_discard(tmp_path, BUILT)
    assert not has_state(tmp_path)
    fill(tmp_path)
    (tmp_path / MARKER).write_text("{not json")
    assert keep_or_discard(tmp_path, BUILT)
    assert not has_state(tmp_path)
