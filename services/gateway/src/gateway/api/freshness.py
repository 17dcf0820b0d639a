"""Is the data fresh? Per symbol: how long ago its last trade arrived, and whether its candles keep up.

Pure logic: ``assess`` takes what the trades topic's end and Redis say, and the clock. A symbol
is stale when no trade has arrived for ``stale_after_s``, or when its newest candle ends further
behind its newest trade than one interval plus ``stale_after_s`` (the candles stopped). Ages of
trades are measured on the clock of their arrival, so a replay of old data that is flowing is
fresh; how old the data itself is stays visible in ``last_trade_time_ms``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gateway.api.schemas import SymbolFreshness
from gateway.live.trade_tail import LastTrade
from tickcast.contracts import Candle


@dataclass(frozen=True)
class FreshnessRules:
    stale_after_s: float
    interval: str
    interval_ms: int


def human_duration(seconds: float) -> str:
    """``75`` -> ``"1 min 15 s"``; ``7300`` -> ``"2 h 1 min"``."""
    whole = max(0, int(round(seconds)))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def assess(
    symbols: Iterable[str],
    trades: Mapping[str, LastTrade],
    candles: Mapping[str, Candle | None],
    trades_error: str | None,
    now_ms: int,
    rules: FreshnessRules,
) -> list[SymbolFreshness]:
    """The freshness of every symbol, sorted by symbol."""
    return [_one(symbol, trades.get(symbol), candles.get(symbol), trades_error, now_ms, rules)
            for symbol in sorted(set(symbols))]


def _one(symbol: str, trade: LastTrade | None, candle: Candle | None, trades_error: str | None, now_ms: int,
         rules: FreshnessRules) -> SymbolFreshness:
    reasons: list[str] = []
    trade_age_s = None if trade is None else max(0.0, (now_ms - trade.received_ms) / 1000)
    candle_end_ms = None if candle is None else candle.close_time_ms + 1
    behind_s = None
    if trade is None:
        if trades_error is None:
            reasons.append("no trade seen at the end of the trades topic")
    elif trade_age_s is not None and trade_age_s > rules.stale_after_s:
        reasons.append(f"no trade received for {human_duration(trade_age_s)}")
    if candle_end_ms is None:
        reasons.append(f"no {rules.interval} candle yet")
    elif trade is not None:
        behind_s = max(0.0, (trade.trade_time_ms - candle_end_ms) / 1000)
        if behind_s > rules.interval_ms / 1000 + rules.stale_after_s:
            reasons.append(f"{rules.interval} candles {human_duration(behind_s)} behind the trades")
    return SymbolFreshness(
        symbol=symbol,
        stale=bool(reasons),
        reason="; ".join(reasons) or None,
        last_trade_time_ms=None if trade is None else trade.trade_time_ms,
        last_trade_received_ms=None if trade is None else trade.received_ms,
        last_trade_age_s=None if trade_age_s is None else round(trade_age_s, 1),
        last_candle_close_ms=candle_end_ms,
        last_candle_age_s=None if candle_end_ms is None else round(max(0.0, (now_ms - candle_end_ms) / 1000), 1),
        candles_behind_trades_s=None if behind_s is None else round(behind_s, 1),
    )
