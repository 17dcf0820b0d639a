"""SUBSCRIBE bookkeeping and the connection-attempt window, without a socket."""

from __future__ import annotations

import json

import pytest

from trade_producer.live.connection_budget import ConnectionBudget
from trade_producer.live.subscriptions import SubscribeRefused, Subscriptions


def test_waiting_streams_go_in_one_request_no_more_often_than_allowed() -> None:
    subs = Subscriptions({"btcusdt@trade"}, min_interval=0.5)
    wanted = ["btcusdt@trade", "ethusdt@trade", "solusdt@trade"]
    first = json.loads(subs.next_request(wanted, now=10.0) or "null")
    assert first == {"method": "SUBSCRIBE", "params": ["ethusdt@trade", "solusdt@trade"], "id": 1}
    assert subs.next_request(wanted, now=10.1) is None  # asked already
    wanted.append("xrpusdt@trade")
    assert subs.next_request(wanted, now=10.2) is None  # too soon after the last request
    assert subs.seconds_until_allowed(10.2) == pytest.approx(0.3)
    second = json.loads(subs.next_request(wanted, now=10.6) or "null")
    assert second["params"] == ["xrpusdt@trade"] and second["id"] == 2
    assert subs.answer({"result": None, "id": 1}) == ["ethusdt@trade", "solusdt@trade"]
    assert subs.waiting(wanted) == []
    assert subs.subscribed == {"btcusdt@trade", "ethusdt@trade", "solusdt@trade"}


def test_an_error_or_a_missing_answer_is_a_refusal() -> None:
    subs = Subscriptions(set())
    subs.next_request(["a@trade"], now=0.0)
    assert Subscriptions.is_response({"code": 2, "msg": "Invalid request", "id": 1})
    assert not Subscriptions.is_response({"stream": "a@trade", "data": {}})
    with pytest.raises(SubscribeRefused, match="code 2"):
        subs.answer({"code": 2, "msg": "Invalid request", "id": 1})
    subs.next_request(["b@trade"], now=1.0)
    subs.check_overdue(now=5.0, timeout=10.0)
    with pytest.raises(SubscribeRefused, match="unanswered"):
        subs.check_overdue(now=12.0, timeout=10.0)


def test_connection_budget_waits_for_the_oldest_attempt_to_leave_the_window() -> None:
    budget = ConnectionBudget(limit=2, window=300.0)
    for now in (0.0, 10.0):
        assert budget.wait_seconds(now) == 0.0
        budget.spend(now)
    assert budget.wait_seconds(20.0) == pytest.approx(280.0)
    assert budget.wait_seconds(300.5) == 0.0
