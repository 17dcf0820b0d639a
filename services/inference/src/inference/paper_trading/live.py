"""Paper trading inside the service: one call per batch, one per rebuild from the topics.

Books live in memory and are written to Redis after every batch (after the batch's Kafka commit: a
crash before the write is made good by the replay at restart; a batch seen twice changes nothing). While Redis is away the
newest state of each book and the curve points wait here and are written once it answers.

After a restart (or an assignment) the stored books are taken back and the tails of the candles,
predictions and challenger-predictions topics are replayed over them in the order they became
known: what a stored book saw is ignored, what it missed is applied, so the portfolios continue. With
Redis emptied the same replay starts them from the oldest message the tails hold.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

import redis
import structlog
from tickcast.contracts import Candle, Prediction

from inference.paper_trading.redis_store import PaperStore
from inference.paper_trading.trader import CurvePoint, PaperTrader
from inference.topic_tail import RecentHistory

log = structlog.get_logger(__name__)

# Curve points kept for Redis while it is away (oldest dropped first; the topics still have their inputs).
_UNSENT_POINTS = 200_000


class PaperTrading:
    def __init__(self, trader: PaperTrader, store: PaperStore, interval: str, interval_ms: int) -> None:
        self._trader = trader
        self._store = store
        self._interval = interval
        self._interval_ms = interval_ms
        self._unsent_books: dict[str, str] = {}  # PaperBook JSON by field: the newest of each
        self._unsent_points: deque[CurvePoint] = deque(maxlen=_UNSENT_POINTS)
        self._redis_down = False

    @property
    def trader(self) -> PaperTrader:
        return self._trader

    def on_batch(self, candles: Iterable[Candle], predictions: Iterable[Prediction]) -> None:
        """A batch's closes, then its forecasts (made as of those closes or earlier), then Redis."""
        for candle in candles:
            if candle.interval == self._interval:
                self._trader.on_candle(candle.symbol, candle.open_time_ms, candle.close)
        for prediction in predictions:
            self._trader.on_prediction(prediction)
        self._flush()

    def rebuild(self, history: RecentHistory, challenger_predictions: Sequence[Prediction]) -> None:
        """Take back the stored books of ``history``'s symbols not held here, and replay the topics' tails over them.

        A book held in memory (Redis lost its data while this instance served) ignores what it saw
        already and is written back with its next change.
        """
        symbols = history.symbols
        try:
            stored = self._store.books_of(symbols)
        except redis.RedisError as error:
            stored = []
            log.warning("paper books not read back: redis away; replayed from the topics alone", error=str(error))
        self._trader.restore(stored)
        wanted = set(symbols)
        events: list[tuple[int, int, Candle | Prediction]] = [
            (c.open_time_ms + self._interval_ms, 0, c) for c in history.candles if c.interval == self._interval
        ]
        events += [(p.as_of_ms + self._interval_ms, 1, p)
                   for p in [*history.predictions, *challenger_predictions] if p.symbol in wanted]
        events.sort(key=lambda event: (event[0], event[1]))
        for _, _, item in events:
            if isinstance(item, Candle):
                self._trader.on_candle(item.symbol, item.open_time_ms, item.close)
            else:
                self._trader.on_prediction(item)
        self._flush()
        log.info("paper books rebuilt", symbols=len(symbols), stored_books=len(stored), events=len(events))

    def forget(self, symbols: Iterable[str]) -> None:
        self._trader.forget(symbols)

    def close(self) -> None:
        self._store.close()

    def _flush(self) -> None:
        books, points = self._trader.drain()
        self._unsent_books.update(books)
        self._unsent_points.extend(points)
        try:
            self._store.write(self._unsent_books, list(self._unsent_points))
        except redis.RedisError as error:
            if not self._redis_down:
                log.warning("paper books not written: redis away; written when it answers", error=str(error))
            self._redis_down = True
            return
        self._redis_down = False
        self._unsent_books.clear()
        self._unsent_points.clear()
