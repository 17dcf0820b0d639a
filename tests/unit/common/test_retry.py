"""Start-up reads retry the broker's passing errors up to a deadline, and nothing else."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from tickcast.retry import READ_BACKOFF, BrokerNotReady, is_transient, retry_transient


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def failing(code: int, times: int, result: object = "ok"):
    calls = {"n": 0}

    def read() -> object:
        calls["n"] += 1
        if calls["n"] <= times:
            raise KafkaException(KafkaError(code, "Failed to get watermark offsets: Broker: Not leader"))
        return result

    return read, calls


def test_a_just_created_topic_answers_after_a_few_retries():
    clock = FakeClock()
    read, calls = failing(KafkaError.NOT_LEADER_FOR_PARTITION, times=4, result=(0, 42))
    assert retry_transient("watermarks", read, 30, clock=clock, sleep=clock.sleep, unit_random=lambda: 0.5) == (0, 42)
    assert calls["n"] == 5
    # The shared back-off: doubling from the base, jitter centred (0.5 means none).
    assert clock.pauses == [READ_BACKOFF.delay_s(n, 0.5) for n in range(1, 5)]
    assert clock.pauses == sorted(clock.pauses)


def test_pauses_are_capped():
    clock = FakeClock()
    read, _ = failing(KafkaError._TRANSPORT, times=20)
    retry_transient("metadata", read, 600, clock=clock, sleep=clock.sleep, unit_random=lambda: 0.99)
    assert max(clock.pauses) <= READ_BACKOFF.max_delay_s


def test_gives_up_at_the_deadline_with_what_to_do():
    clock = FakeClock()
    read, calls = failing(KafkaError.LEADER_NOT_AVAILABLE, times=10_000)
    with pytest.raises(BrokerNotReady) as raised:
        retry_transient("partitions of topic 'trades'", read, 5, clock=clock, sleep=clock.sleep)
    message = str(raised.value)
    assert "partitions of topic 'trades'" in message
    assert "LEADER_NOT_AVAILABLE" in message
    assert "make topics" in message and "make status" in message
    assert isinstance(raised.value.__cause__, KafkaException)
    assert 5 <= clock.now <= 5 + READ_BACKOFF.max_delay_s  # never sleeps past the deadline by more than a pause
    assert sum(clock.pauses) <= 5
    assert calls["n"] > 3


def test_a_lasting_error_is_raised_at_once():
    clock = FakeClock()
    read, calls = failing(KafkaError.TOPIC_AUTHORIZATION_FAILED, times=1)
    with pytest.raises(KafkaException):
        retry_transient("watermarks", read, 30, clock=clock, sleep=clock.sleep)
    assert calls["n"] == 1 and clock.pauses == []


def test_other_exceptions_are_not_retried():
    calls = {"n": 0}

    def read() -> None:
        calls["n"] += 1
        raise KeyError("trades")

    with pytest.raises(KeyError):
        retry_transient("metadata", read, 30, sleep=lambda _s: None)
    assert calls["n"] == 1


@pytest.mark.parametrize("code", [
    KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._TIMED_OUT,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError._ALL_BROKERS_DOWN,
])
def test_transient_codes(code: int):
    assert is_transient(KafkaException(KafkaError(code)))


@pytest.mark.parametrize("error", [
    KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)),
    KafkaException(KafkaError(KafkaError.SASL_AUTHENTICATION_FAILED)),
    RuntimeError("not kafka"),
])
def test_not_transient(error: BaseException):
    assert not is_transient(error)
