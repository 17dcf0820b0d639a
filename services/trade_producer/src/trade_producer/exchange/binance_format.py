"""Binance payloads (websocket events, REST rows) as ``Trade`` messages, or a reason they are not."""

from __future__ import annotations

from typing import Any

from tickcast.contracts import ContractError, Trade, TradeSource


class RejectedInput(ValueError):
    """Exchange input that is not a trade we can produce; ``reason`` is a short, stable label."""

    def __init__(self, reason: str, detail: str, payload: Any) -> None:
        self.reason = reason
        self.payload = payload
        super().__init__(f"{reason}: {detail}")


def _number(value: Any) -> float:
    # Binance sends decimals as strings; a bare number is accepted, anything else refused.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"not a decimal: {value!r}")
    return float(value)


def _trade(fields: dict[str, Any], payload: Any) -> Trade:
    try:
        price, quantity = _number(fields.pop("price")), _number(fields.pop("quantity"))
        quote = fields.pop("quote_quantity", None)
        quote_quantity = price * quantity if quote is None else _number(quote)
        return Trade.parse({**fields, "price": price, "quantity": quantity, "quote_quantity": quote_quantity})
    except (ValueError, TypeError, ContractError) as error:
        raise RejectedInput("invalid trade", str(error).splitlines()[0], payload) from None


def trade_from_stream(message: Any) -> Trade:
    """A combined-stream frame ``{"stream": ..., "data": {"e": "trade", ...}}`` (or its bare data)."""
    data = message.get("data", message) if isinstance(message, dict) else message
    if not isinstance(data, dict):
        raise RejectedInput("malformed frame", "not a JSON object", message)
    if data.get("e") != "trade":
        raise RejectedInput("unknown event", f"event type {data.get('e')!r}", message)
    try:
        fields = {
            "symbol": data["s"],
            "trade_id": data["t"],
            "price": data["p"],
            "quantity": data["q"],
            "timestamp_ms": data["T"],
            "is_buyer_maker": data["m"],
            "source": "live",
        }
    except KeyError as missing:
        raise RejectedInput("malformed frame", f"missing field {missing}", message) from None
    return _trade(fields, message)


def trade_from_rest(symbol: str, row: Any, source: TradeSource) -> Trade:
    """A ``/api/v3/historicalTrades`` (or ``/trades``) row."""
    try:
        fields = {
            "symbol": symbol,
            "trade_id": row["id"],
            "price": row["price"],
            "quantity": row["qty"],
            "quote_quantity": row["quoteQty"],
            "timestamp_ms": row["time"],
            "is_buyer_maker": row["isBuyerMaker"],
            "source": source,
        }
    except (KeyError, TypeError) as missing:
        raise RejectedInput("malformed REST row", f"missing field {missing}", row) from None
    return _trade(fields, row)
