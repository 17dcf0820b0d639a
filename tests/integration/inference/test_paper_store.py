"""Paper books against a real Redis: written every batch, taken back after a restart, rebuilt the same."""

from __future__ import annotations

import math

import pytest
import redis
from inference.paper_trading.live import PaperTrading
from inference.paper_trading.redis_store import PaperStore
from inference.paper_trading.trader import PaperTrader
from inference.topic_tail import RecentHistory
from tickcast.contracts import Candle, Prediction
from tickcast.paper_trading import PaperBook, PaperPoint
from tickcast.redis_keys import RedisKeys
from unit.inference.linear_models import BASE_MS, MINUTE_MS

pytestmark = pytest.mark.integration

CLOSES = [100.0, 101.0, 99.5, 102.0, 103.5, 101.0, 100.2, 104.0, 106.0, 105.0, 107.5, 103.0]
EDGES = [0.004, 0.001, -0.003, 0.005, 0.0, -0.004, 0.006, 0.003, -0.001, -0.005, 0.004, 0.0]


def candle(step: int) -> Candle:
    close = CLOSES[step]
    return Candle(symbol="BTCUSDT", interval="1m", open_time_ms=BASE_MS + step * MINUTE_MS,
                  close_time_ms=BASE_MS + (step + 1) * MINUTE_MS - 1, open=close, high=close, low=close,
                  close=close, volume=1.0, quote_volume=close, taker_buy_base_volume=0.5,
                  taker_buy_quote_volume=close / 2, vwap=close, trade_count=1)


def prediction(step: int, version: str) -> Prediction:
    as_of = BASE_MS + step * MINUTE_MS
    edge = EDGES[step] if version == "1" else -EDGES[step]
    return Prediction(symbol="BTCUSDT", model_name="m", model_version=version, horizon=1, as_of_ms=as_of,
                      target_time_ms=as_of + MINUTE_MS, predicted_return=edge,
                      predicted_price=CLOSES[step] * math.exp(edge), direction="flat", emitted_ms=as_of + MINUTE_MS)


def paper(redis_settings) -> PaperTrading:
    return PaperTrading(PaperTrader(10.0, False, MINUTE_MS), PaperStore(redis_settings, 1440, 600), "1m", MINUTE_MS)


def stored(redis_settings) -> dict[str, PaperBook]:
    client = redis.Redis.from_url(redis_settings.url)
    keys = RedisKeys(redis_settings.key_prefix)
    books = [PaperBook.model_validate_json(v) for v in client.hgetall(keys.paper_books()).values()]
    client.close()
    return {book.field: book for book in books}


def curve(redis_settings, version: str) -> list[PaperPoint]:
    client = redis.Redis.from_url(redis_settings.url)
    members = client.zrange(RedisKeys(redis_settings.key_prefix).paper_curve("m", version, "BTCUSDT"), 0, -1)
    client.close()
    return [PaperPoint.model_validate_json(m) for m in members]


def run_live(trading: PaperTrading, steps: range) -> None:
    for step in steps:  # one batch per candle: its close, then the champion's and a challenger's forecasts
        trading.on_batch([candle(step)], [prediction(step, "1"), prediction(step, "2")])


def test_books_continue_after_a_restart_and_rebuild_the_same_from_the_topics(redis_settings):
    straight = PaperTrader(10.0, False, MINUTE_MS)
    for step in range(len(CLOSES)):
        straight.on_candle("BTCUSDT", BASE_MS + step * MINUTE_MS, CLOSES[step])
        straight.on_prediction(prediction(step, "1"))
        straight.on_prediction(prediction(step, "2"))
    expected = {book.field: book.model_dump() for book in straight.books}

    first = paper(redis_settings)
    run_live(first, range(7))
    first.close()
    # A restart: the stored books come back, the topics' tails (which include batches already seen) are replayed.
    second = paper(redis_settings)
    second.rebuild(RecentHistory(candles=[candle(s) for s in range(3, 7)],
                                 predictions=[prediction(s, "1") for s in range(3, 7)]),
                   [prediction(s, "2") for s in range(3, 7)])
    run_live(second, range(6, len(CLOSES)))  # batch 6 again: a crash before its commit
    second.close()

    assert {field: book.model_dump() for field, book in stored(redis_settings).items()} == expected
    assert len(expected) == 3  # champion, challenger, persistence baseline
    points = curve(redis_settings, "1")
    assert [p.time_ms for p in points] == [BASE_MS + (s + 1) * MINUTE_MS for s in range(len(CLOSES))]
    assert points[-1].equity == pytest.approx(expected["m@1|BTCUSDT"]["equity"])


def test_redis_emptied_is_rebuilt_from_the_topics_with_the_same_numbers(redis_settings):
    live = paper(redis_settings)
    run_live(live, range(len(CLOSES)))
    live.close()
    before = stored(redis_settings)
    client = redis.Redis.from_url(redis_settings.url)
    client.delete(RedisKeys(redis_settings.key_prefix).paper_books())
    client.close()

    rebuilt = paper(redis_settings)
    rebuilt.rebuild(RecentHistory(candles=[candle(s) for s in range(len(CLOSES))],
                                  predictions=[prediction(s, "1") for s in range(len(CLOSES))]),
                    [prediction(s, "2") for s in range(len(CLOSES))])
    rebuilt.close()

    after = stored(redis_settings)
    assert after.keys() == before.keys()
    assert {f: b.model_dump() for f, b in after.items()} == {f: b.model_dump() for f, b in before.items()}
    assert after["m@1|BTCUSDT"].trades > 0  # the run exercised the fees


def test_redis_away_keeps_the_books_and_writes_them_when_it_answers(redis_settings):
    away = redis_settings.model_copy(update={"url": "redis://127.0.0.1:1/0"})
    trading = PaperTrading(PaperTrader(10.0, False, MINUTE_MS), PaperStore(away, 1440, 600), "1m", MINUTE_MS)
    run_live(trading, range(4))  # no exception: the loop goes on
    trading._store = PaperStore(redis_settings, 1440, 600)  # Redis answers again
    run_live(trading, range(4, 5))
    trading.close()
    assert [p.time_ms for p in curve(redis_settings, "1")] == [BASE_MS + (s + 1) * MINUTE_MS for s in range(5)]
    assert stored(redis_settings)["m@1|BTCUSDT"].marked_open_ms == BASE_MS + 4 * MINUTE_MS
