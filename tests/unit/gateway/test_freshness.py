"""Freshness rules: a symbol is stale when its trades stop arriving or its candles fall behind them."""

from __future__ import annotations

from gateway.api.freshness import FreshnessRules, assess, human_duration
from gateway.live.trade_tail import LastTrade
from tickcast.contracts import Candle

NOW = 1_767_225_600_000 + 3_600_000
RULES = FreshnessRules(stale_after_s=60, interval="1m", interval_ms=60_000)


def _candle(symbol: str, open_ms: int) -> Candle:
    return Candle(symbol=symbol, interval="1m", open_time_ms=open_ms, close_time_ms=open_ms + 59_999, open=1.0,
                  high=1.0, low=1.0, close=1.0, volume=1.0, quote_volume=1.0, trade_count=1,
                  taker_buy_base_volume=0.5, taker_buy_quote_volume=0.5, vwap=1.0)


def test_human_durations() -> None:
    assert [human_duration(s) for s in (0, 59.4, 60, 75, 3600, 7300, 200_000)] == [
        "0 s", "59 s", "1 min", "1 min 15 s", "1 h", "2 h 1 min", "2 d 7 h"]


def test_a_replay_that_flows_is_fresh_and_a_feed_that_stopped_is_not() -> None:
    old = NOW - 400 * 86_400_000  # a replay of old data: trade times far back, arriving now
    trades = {"OLD": LastTrade("OLD", old + 30_000, NOW - 2_000), "STOP": LastTrade("STOP", NOW - 90_000, NOW - 90_000)}
    candles = {"OLD": _candle("OLD", old - old % 60_000 - 60_000), "STOP": _candle("STOP", NOW - 180_000)}
    fresh, stopped = assess(["OLD", "STOP"], trades, candles, None, NOW, RULES)
    assert not fresh.stale and fresh.last_trade_age_s == 2.0
    assert stopped.stale and stopped.reason == "no trade received for 1 min 30 s"


def test_candles_behind_the_trades_and_missing_data_are_stale() -> None:
    trades = {"LAG": LastTrade("LAG", NOW, NOW)}
    behind, nothing = assess(["LAG", "NONE"], trades, {"LAG": _candle("LAG", NOW - 600_000)}, None, NOW, RULES)
    assert behind.stale and behind.reason == "1m candles 9 min behind the trades"
    assert nothing.stale and nothing.reason == "no trade seen at the end of the trades topic; no 1m candle yet"
    (unknown,) = assess(["NONE"], {}, {}, "broker away", NOW, RULES)
    assert unknown.reason == "no 1m candle yet"  # the trades' age is unknown, reported once for all symbols
