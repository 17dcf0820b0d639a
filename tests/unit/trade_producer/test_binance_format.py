"""Exchange payloads become trades, or are refused with a reason and the raw payload."""

from __future__ import annotations

import pytest

from trade_producer.exchange.binance_format import RejectedInput, trade_from_rest, trade_from_stream

FRAME = {
    "stream": "btcusdt@trade",
    "data": {"e": "trade", "E": 1704067200123, "s": "BTCUSDT", "t": 3_300_000_001, "p": "42283.01000000",
             "q": "0.00120000", "T": 1704067200120, "m": True, "M": True},
}  # fmt: skip


def test_combined_stream_trade_frame() -> None:
    trade = trade_from_stream(FRAME)
    assert (trade.symbol, trade.trade_id, trade.price, trade.quantity) == (
        "BTCUSDT",
        3_300_000_001,
        42283.01,
        0.0012,
    )
    assert trade.quote_quantity == 42283.01 * 0.0012
    assert (trade.timestamp_ms, trade.is_buyer_maker, trade.source) == (1704067200120, True, "live")
    assert trade_from_stream(FRAME["data"]) == trade  # a raw (non-combined) stream frame too


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"stream": "btcusdt@kline_1m", "data": {"e": "kline", "s": "BTCUSDT"}}, "unknown event"),
        ({"result": None, "id": 1}, "unknown event"),
        ({"data": {**FRAME["data"], "p": "4a2.0"}}, "invalid trade"),
        ({"data": {**FRAME["data"], "p": "NaN"}}, "invalid trade"),
        ({"data": {**FRAME["data"], "q": "-1"}}, "invalid trade"),
        ({"data": {**FRAME["data"], "T": 17040672001200000}}, "invalid trade"),
        ({"data": {key: v for key, v in FRAME["data"].items() if key != "t"}}, "malformed frame"),
        ([1, 2, 3], "malformed frame"),
    ],
)
def test_bad_frames_are_refused_with_their_payload(payload: object, reason: str) -> None:
    with pytest.raises(RejectedInput) as refused:
        trade_from_stream(payload)
    assert refused.value.reason == reason
    assert refused.value.payload is payload


def test_rest_historical_trade_rows() -> None:
    row = {"id": 28457, "price": "4.00000100", "qty": "12.00000000", "quoteQty": "48.000012",
           "time": 1499865549590, "isBuyerMaker": True, "isBestMatch": True}  # fmt: skip
    trade = trade_from_rest("BNBBTC", row, "gap_fill")
    assert (trade.trade_id, trade.price, trade.quote_quantity, trade.source) == (
        28457,
        4.000001,
        48.000012,
        "gap_fill",
    )
    assert not trade.is_aggregate
    with pytest.raises(RejectedInput, match="malformed REST row"):
        trade_from_rest("BNBBTC", {"id": 1}, "backfill")
