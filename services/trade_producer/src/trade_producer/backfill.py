"""Backfill: trades of one symbol and UTC time range from REST, paged by trade id."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from tickcast.progress import progress_bar

from tickcast.contracts import Trade
from trade_producer.dedupe import id_space
from trade_producer.exchange.range_fill import RangeEnd, RangeFiller
from trade_producer.exchange.rest import ExchangeRest
from trade_producer.sink import TradeSink

log = structlog.get_logger(__name__)


async def backfill(
    rest: ExchangeRest,
    sink: TradeSink,
    filler: RangeFiller,
    symbol: str,
    start_ms: int,
    end_ms: int,
    should_stop: Callable[[], bool] = lambda: False,
    progress: bool = True,
    on_share: Callable[[float], None] | None = None,
) -> int:
    """Produce the trades in [start_ms, end_ms); resumes after the last id already on the topic.

    The first trade id of the range comes from the aggregate trade at ``start_ms``;
    from there ``historicalTrades`` is paged by id, which never skips or repeats a
    trade the way paging by time can. Ids the exchange does not return in time are
    recorded as holes (see :mod:`trade_producer.exchange.range_fill`). Returns how many trades it produced.
    ``on_share`` hears the share of the time range covered so far (0..1) after each page.
    """
    first_id = await rest.first_trade_id_at(symbol, start_ms)
    if first_id is None:
        log.warning("no trades at or after start", symbol=symbol, start_ms=start_ms)
        return 0
    last_on_topic = sink.marks.get(id_space(symbol, aggregate=False))
    from_id = first_id if last_on_topic is None else max(first_id, last_on_topic + 1)
    log.info("backfill starting", symbol=symbol, from_id=from_id, start_ms=start_ms, end_ms=end_ms)
    produced_before = sink.produced
    covered_s = 0.0
    with progress_bar(
        total=round((end_ms - start_ms) / 1000), unit="s", desc=f"backfill {symbol}", disable=not progress
    ) as bar:

        def advance(last: Trade) -> None:
            nonlocal covered_s
            reached_s = round((last.timestamp_ms - start_ms) / 1000)
            bar.update(max(reached_s - covered_s, 0))
            covered_s = max(covered_s, reached_s)
            bar.set_postfix(trades=sink.produced - produced_before, refresh=False)
            if on_share is not None and end_ms > start_ms:
                on_share(min(1.0, covered_s * 1000 / (end_ms - start_ms)))

        await filler.fill(
            symbol, from_id, RangeEnd(before_ms=end_ms), "backfill", stop=should_stop, on_progress=advance
        )
    if should_stop():
        log.warning(
            "backfill stopped early", symbol=symbol, last_trade_id=sink.marks.get(id_space(symbol, aggregate=False))
        )
    return sink.produced - produced_before
