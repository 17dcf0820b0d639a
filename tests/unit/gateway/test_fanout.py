"""Who receives which prediction, and what a slow client loses."""

from __future__ import annotations

import asyncio

import pytest

from gateway.live.fanout import BadSymbols, PredictionFanout, parse_symbol_filter


def test_symbol_filter_parses_a_comma_separated_list() -> None:
    assert parse_symbol_filter("BTCUSDT, ETHUSDT,,") == frozenset({"BTCUSDT", "ETHUSDT"})


@pytest.mark.parametrize("text", [None, "", "  ", ","])
def test_an_empty_symbol_filter_means_every_symbol(text: str | None) -> None:
    assert parse_symbol_filter(text) == frozenset()


@pytest.mark.parametrize("text", ["btcusdt", "BTC-USDT", "B", "BTCUSDT,eth"])
def test_a_malformed_symbol_is_refused_with_its_name(text: str) -> None:
    with pytest.raises(BadSymbols, match="not a symbol"):
        parse_symbol_filter(text)


def test_too_many_symbols_are_refused() -> None:
    with pytest.raises(BadSymbols, match="at most 2"):
        parse_symbol_filter("AAA1,AAA2,AAA3", max_symbols=2)


def test_each_client_receives_only_the_symbols_it_asked_for() -> None:
    fanout = PredictionFanout(queue_size=8)
    btc = fanout.subscribe(frozenset({"BTCUSDT"}))
    both = fanout.subscribe(frozenset({"BTCUSDT", "ETHUSDT"}))
    everything = fanout.subscribe(frozenset())

    assert fanout.deliver("ETHUSDT", "eth-1") == (2, 0)
    assert fanout.deliver("BTCUSDT", "btc-1") == (3, 0)
    assert fanout.deliver("SOLUSDT", "sol-1") == (1, 0)

    def drain(queue: asyncio.Queue[str]) -> list[str]:
        return [queue.get_nowait() for _ in range(queue.qsize())]

    assert drain(btc.queue) == ["btc-1"]
    assert drain(both.queue) == ["eth-1", "btc-1"]
    assert drain(everything.queue) == ["eth-1", "btc-1", "sol-1"]


def test_a_slow_client_loses_its_oldest_predictions_not_the_newest() -> None:
    fanout = PredictionFanout(queue_size=2)
    slow = fanout.subscribe(frozenset())
    fast = fanout.subscribe(frozenset())
    fanout.deliver("BTCUSDT", "1")
    fanout.deliver("BTCUSDT", "2")
    fast.queue.get_nowait()
    fast.queue.get_nowait()

    assert fanout.deliver("BTCUSDT", "3") == (2, 1)

    assert [slow.queue.get_nowait(), slow.queue.get_nowait()] == ["2", "3"]
    assert slow.dropped == 1
    assert fast.queue.get_nowait() == "3" and fast.dropped == 0


def test_an_unsubscribed_client_receives_nothing_more() -> None:
    fanout = PredictionFanout(queue_size=4)
    feed = fanout.subscribe(frozenset())
    fanout.unsubscribe(feed)
    assert fanout.client_count == 0
    assert fanout.deliver("BTCUSDT", "x") == (0, 0)
    assert feed.queue.empty()
