"""``/paper`` against a real Redis: every model's books, the equal-weight total, one book's curve."""

from __future__ import annotations

import httpx
import pytest
from tickcast.paper_trading import PAPER_TRADING_NOTICE, PaperBook, PaperPoint

pytestmark = pytest.mark.integration

T = 1_767_225_660_000


def write_book(store_writer, version: str, symbol: str, equities: list[float], holds: list[float], **fields) -> None:
    name = "persistence-baseline" if version == "baseline" else "tickcast-1m-h5"
    book = PaperBook(model_name=name, model_version=version, symbol=symbol, fee_bps=10.0, allow_short=False,
                     equity=equities[-1], buy_hold_equity=holds[-1], started_ms=T, marked_close_ms=T + 60_000 * (len(equities) - 1),
                     candles_marked=len(equities) - 1, **fields)
    store_writer.client.hset(store_writer.keys.paper_books(), book.field, book.model_dump_json())
    key = store_writer.keys.paper_curve(name, version, symbol)
    for i, (equity, hold) in enumerate(zip(equities, holds, strict=True)):
        point = PaperPoint(time_ms=T + 60_000 * i, equity=equity, buy_hold_equity=hold, position=1)
        store_writer.client.zadd(key, {point.model_dump_json(): point.time_ms})


def test_paper_lists_every_model_with_its_total_and_serves_curves(http: httpx.Client, store_writer) -> None:
    assert http.get("/paper").json()["models"] == []
    store_writer.set_served_model("tickcast-1m-h5", "3", {}, horizon=5)
    write_book(store_writer, "3", "BTCUSDT", [0.999, 1.1, 0.99], [0.999, 1.05, 1.0], trades=1, fees_paid=0.001,
               turnover=1.0, max_drawdown=0.1)
    write_book(store_writer, "3", "ETHUSDT", [1.0, 1.0, 1.01], [0.999, 0.98, 0.97])
    write_book(store_writer, "4", "BTCUSDT", [1.0, 1.0, 1.0], [0.999, 1.05, 1.0])
    write_book(store_writer, "baseline", "BTCUSDT", [1.0, 1.0, 1.0], [0.999, 1.05, 1.0])

    overview = http.get("/paper").json()
    assert overview["notice"] == PAPER_TRADING_NOTICE
    assert [(m["model"], m["role"]) for m in overview["models"]] == [
        ("tickcast-1m-h5@3", "champion"), ("tickcast-1m-h5@4", "challenger"),
        ("persistence-baseline@baseline", "baseline")]
    champion = overview["models"][0]
    assert champion["total"]["strategy_return"] == pytest.approx((0.99 + 1.01) / 2 - 1)
    assert champion["total"]["fees_paid"] == pytest.approx(0.0005)  # each symbol half the capital
    assert champion["total"]["max_drawdown"] == pytest.approx(1 - 1.0 / 1.05)  # mean curve: 0.9995, 1.05, 1.0
    assert champion["symbols"]["BTCUSDT"]["trades"] == 1

    curve = http.get("/paper/BTCUSDT").json()  # default: the champion
    assert curve["model"] == "tickcast-1m-h5@3" and curve["notice"] == PAPER_TRADING_NOTICE
    assert [p["equity"] for p in curve["points"]] == [0.999, 1.1, 0.99]
    assert curve["points"][-1]["drawdown"] == pytest.approx(0.1)
    total = http.get("/paper/ALL", params={"model": "tickcast-1m-h5@3"}).json()
    assert [p["equity"] for p in total["points"]] == pytest.approx([0.9995, 1.05, 1.0])
    assert http.get("/paper/BTCUSDT", params={"model": "tickcast-1m-h5@4"}).json()["role"] == "challenger"
    missing = http.get("/paper/BTCUSDT", params={"model": "nope@1"})
    assert missing.status_code == 404 and "GET /paper" in missing.json()["detail"]
