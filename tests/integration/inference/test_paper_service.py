"""Paper trading inside the running service, real broker and Redis: books fill from the champion's forecasts,
continue across a restart, and a Redis emptied while inference was down is rebuilt with the same numbers
as a replay of the topics computed here without the service.
"""

from __future__ import annotations

import math

import pytest
import redis
from inference.model import BASELINE_NAME, BASELINE_VERSION
from inference.paper_trading.trader import PaperTrader
from inference.service import InferenceService
from integration.inference.harness import running, wait_for
from support.kafka import consume
from tickcast.contracts import Candle, Prediction
from tickcast.paper_trading import PaperBook, book_field
from tickcast.topics import Topic
from unit.inference.linear_models import MINUTE_MS, InMemoryChampions, LinearModel, candle, vector

pytestmark = pytest.mark.integration

SYMBOLS = ["BTCUSDT", "ETHUSDT"]
FEE_BPS = 5.0


def close(symbol: str, step: int) -> float:
    drift = 0.002 if symbol == "BTCUSDT" else -0.001
    return 100.0 * math.exp(drift * step + 0.004 * math.sin(step))


def ret_1(symbol: str, step: int) -> float:
    # The champion forecasts 2 x ret_1: some forecasts beat the round-trip fee (0.1 %), some do not.
    return 0.003 * math.sin(step * 1.3 + (0 if symbol == "BTCUSDT" else 1))


def send_steps(send, steps: range) -> None:
    send(Topic.FEATURES, [vector(s, step, ret_1=ret_1(s, step), close=close(s, step)) for step in steps for s in SYMBOLS])
    send(Topic.CANDLES, [candle(s, step, close(s, step)) for step in steps for s in SYMBOLS])


def books(client: redis.Redis, keys) -> dict[str, PaperBook]:
    documents = client.hgetall(keys.paper_books()).values()
    return {b.field: b for b in (PaperBook.model_validate_json(d) for d in documents)}


def replayed(candles: list[Candle], predictions: list[Prediction]) -> dict[str, dict]:
    """The books a replay of the topics gives, in the order things became known."""
    trader = PaperTrader(FEE_BPS, False, MINUTE_MS)
    events = sorted([(c.open_time_ms + MINUTE_MS, 0, c) for c in candles]
                    + [(p.as_of_ms + MINUTE_MS, 1, p) for p in predictions], key=lambda e: (e[0], e[1]))
    for _, _, item in events:
        if isinstance(item, Candle):
            trader.on_candle(item.symbol, item.open_time_ms, item.close)
        else:
            trader.on_prediction(item)
    return {b.field: b.model_dump() for b in trader.books}


def test_paper_books_fill_continue_after_a_restart_and_rebuild_the_same(
    inference_settings, kafka_settings, topics, send, redis_client, keys
):
    registry = InMemoryChampions("m")
    registry.register(LinearModel("m", "1", weight=2.0, bias=0.0))
    registry.set_champion("1")
    settings = inference_settings.model_copy(update={"paper_fee_bps": FEE_BPS})
    champion = book_field("m", "1", "BTCUSDT")

    def marked(field: str) -> int | None:
        book = books(redis_client, keys).get(field)
        return None if book is None else book.candles_marked

    with running(InferenceService(settings, registry)):
        send_steps(send, range(10))
        wait_for(lambda: marked(champion) == 9, what="the champion's book marked at nine closes after its first")
    first = books(redis_client, keys)
    assert set(first) == {book_field(m, v, s) for m, v in (("m", "1"), (BASELINE_NAME, BASELINE_VERSION))
                          for s in SYMBOLS}
    assert first[champion].trades > 0 and first[champion].fees_paid > 0

    with running(InferenceService(settings, registry)):  # Redis intact: the books continue, nothing counted twice
        send_steps(send, range(10, 16))
        wait_for(lambda: marked(champion) == 15, what="the champion's book carrying on after a restart")
    continued = books(redis_client, keys)
    assert continued[champion].started_ms == first[champion].started_ms

    candles = [Candle.parse(r.value) for r in consume(kafka_settings, topics(Topic.CANDLES), expected=16 * 2)]
    predictions = [Prediction.parse(r.value)
                   for r in consume(kafka_settings, topics(Topic.PREDICTIONS), expected=16 * 2, timeout=60)]
    expected = replayed(candles, predictions)
    assert {f: b.model_dump() for f, b in continued.items()} == expected

    for key in redis_client.scan_iter(match=f"{keys.prefix}*"):  # Redis lost everything while inference was down
        redis_client.delete(key)
    with running(InferenceService(settings, registry)):
        wait_for(lambda: marked(champion) == 15, what="the paper books rebuilt from the topics")
    assert {f: b.model_dump() for f, b in books(redis_client, keys).items()} == expected
    curve = redis_client.zrange(keys.paper_curve("m", "1", "BTCUSDT"), 0, -1)
    assert len(curve) == 16
