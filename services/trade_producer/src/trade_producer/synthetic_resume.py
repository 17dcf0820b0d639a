"""Where an endless synthetic feed starts: after the last trade already on the topic, if any.

An endless feed (``--trades 0``, what ``make up`` runs) stands in for a live market: after a
restart it must carry on from where it stopped, not replay its history. Started again at
``now-26h`` with ids from 1, every id up to the old maximum would be a duplicate to skip, and no
trade would flow for as long as the feed had run before. So each symbol continues from its last
trade on the topic, with the next id and the same price, from:

* the wall clock, for a feed paced by it (``--speed live``): the market went quiet while the feed
  was away. Inventing the missed seconds now would make them late for a candle builder that stayed
  up, as it closes quiet windows on the clock;
* the requested start instead, when the last trade is older than it (a stop longer than the
  history asked for): the history is built again from there;
* the last trade's time, for a feed not paced by the clock.

A finite run (``--trades N``) is a reproducible data set instead: same seed and start, same
trades, those already on the topic skipped.

Pure logic, no I/O: the last trades come from :mod:`trade_producer.topic_tail`.
"""

from __future__ import annotations

from dataclasses import dataclass

from trade_producer.topic_tail import LastTrade


@dataclass(frozen=True)
class StartPoint:
    """Where one symbol's generator starts."""

    start_ms: int
    first_trade_id: int
    price: float
    resumed: bool  # continues trades already on the topic
    gap_ms: int = 0  # time without trades between the last one on the topic and the start


def start_point(
    requested_start_ms: int, default_price: float, last: LastTrade | None, live_now_ms: int | None = None
) -> StartPoint:
    """One symbol's start, given its last trade on the topic (None: none there).

    ``live_now_ms``: the wall clock, for a feed paced by it; None otherwise.
    """
    if last is None:
        return StartPoint(requested_start_ms, 1, default_price, resumed=False)
    if last.timestamp_ms < requested_start_ms:
        start_ms = requested_start_ms
    elif live_now_ms is not None:
        start_ms = max(last.timestamp_ms, live_now_ms)
    else:
        start_ms = last.timestamp_ms
    price = last.price if last.price > 0 else default_price
    return StartPoint(start_ms, last.trade_id + 1, price, resumed=True, gap_ms=start_ms - last.timestamp_ms)
