"""``Trade`` JSON for whole columns at once, byte for byte what ``Trade.to_json_bytes()`` writes.

Serialising through pydantic costs several microseconds per trade, more than
the producer itself. Here the JSON is assembled column-wise with Arrow; floats
are formatted by orjson, whose shortest round-trip form is the same as
pydantic's. The input must already satisfy the contract
(:mod:`trade_producer.columns` checks that); the unit tests compare every
output with pydantic's for real dump rows and random values.

Every Arrow value here is built from buffers (``Array.from_buffers``), never with
``pa.scalar`` or ``pa.array``: those two import pandas on first use (two to seven
seconds), which the synthetic and live producers would pay at every (re)start.
"""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from tickcast.contracts import SCHEMA_VERSION, Trade, TradeSource
from trade_producer.columns import TradeColumns

# The field order pydantic writes; a contract change must be mirrored here.
FIELD_ORDER = (
    "schema_version", "symbol", "trade_id", "price", "quantity", "quote_quantity",
    "timestamp_ms", "is_buyer_maker", "source", "first_trade_id", "last_trade_id",
)  # fmt: skip


class ContractDriftError(RuntimeError):
    """The ``Trade`` contract changed shape; the bulk encoder no longer matches it."""


def check_contract_shape() -> None:
    if tuple(Trade.model_fields) != FIELD_ORDER:
        raise ContractDriftError(
            f"Trade fields are now {tuple(Trade.model_fields)}, encoder writes {FIELD_ORDER}"
        )


check_contract_shape()


def _binary(body: bytes, ends: np.ndarray) -> pa.Array:
    """``body`` cut at ``ends`` (the end offset of each element) as a large_binary array."""
    offsets = np.concatenate(([0], ends)).astype(np.int64)
    return pa.Array.from_buffers(pa.large_binary(), len(ends), [None, pa.py_buffer(offsets), pa.py_buffer(body)])


def _literal(text: str) -> pa.Scalar:
    data = text.encode()
    return _binary(data, np.array([len(data)]))[0]


def _then_comma(values: np.ndarray) -> pa.Array:
    """Each number or boolean as JSON followed by a comma, e.g. ``b"29023.66,"``.

    One orjson call formats the whole column; its own separators become each
    element's trailing comma, so the Arrow array is built on orjson's output
    buffer without creating a Python object per value.
    """
    body = orjson.dumps(values.tolist())[1:-1] + b","
    return _binary(body, np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == ord(",")) + 1)


def _integers(values: np.ndarray) -> pa.Array:
    """Each number as JSON, without the comma."""
    return pc.binary_slice(_then_comma(values), 0, -1)


def encode_trades(symbol: str, source: TradeSource, trades: TradeColumns) -> list[bytes]:
    """The JSON value of every row, in row order."""
    if not len(trades):
        return []
    head = f'{{"schema_version":{SCHEMA_VERSION},"symbol":{orjson.dumps(symbol).decode()},"trade_id":'
    pieces: list[pa.Array | pa.Scalar] = [
        _literal(head), _then_comma(trades.trade_id),
        _literal('"price":'), _then_comma(trades.price),
        _literal('"quantity":'), _then_comma(trades.quantity),
        _literal('"quote_quantity":'), _then_comma(trades.quote_quantity),
        _literal('"timestamp_ms":'), _then_comma(trades.timestamp_ms),
        _literal('"is_buyer_maker":'), _then_comma(trades.is_buyer_maker),
        _literal(f'"source":{orjson.dumps(source).decode()}'),
    ]  # fmt: skip
    if trades.first_trade_id is None or trades.last_trade_id is None:
        pieces.append(_literal(',"first_trade_id":null,"last_trade_id":null}'))
    else:
        pieces += [
            _literal(',"first_trade_id":'), _then_comma(trades.first_trade_id),
            _literal('"last_trade_id":'), _integers(trades.last_trade_id), _literal("}"),
        ]  # fmt: skip
    joined = pc.binary_join_element_wise(*pieces, _literal(""))
    return joined.to_pylist()
