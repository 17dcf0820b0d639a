"""Rows of a dump file as validated numeric columns, checked in bulk against the ``Trade`` contract.

Replay must run at hundreds of thousands of trades per second, so rows are not
validated one by one through pydantic. Instead every rule of
:class:`tickcast.contracts.Trade` is applied to whole columns here; a row that
breaks one is refused with the column it broke and its raw text. The unit
tests check that every accepted row equals what ``Trade`` itself produces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tickcast.binance_files.dump_files import DumpKind
from tickcast.binance_files.timestamps import epoch_ms_array
from tickcast.contracts import MAX_EPOCH_MS, MIN_EPOCH_MS, Trade, TradeSource

_INTEGER = r"^[0-9]+$"
_DECIMAL = r"^[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?$"
_BOOLEAN = {"true": True, "false": False}

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class TradeColumns:
    """Trades of one symbol, one array per ``Trade`` field, every row valid."""

    trade_id: Ints
    price: Floats
    quantity: Floats
    quote_quantity: Floats
    timestamp_ms: Ints
    is_buyer_maker: Bools
    first_trade_id: Ints | None = None  # both set for aggregate trades
    last_trade_id: Ints | None = None

    def __len__(self) -> int:
        return len(self.trade_id)

    @property
    def is_aggregate(self) -> bool:
        return self.first_trade_id is not None

    def take(self, rows: Bools | Ints | slice) -> TradeColumns:
        return TradeColumns(
            trade_id=self.trade_id[rows],
            price=self.price[rows],
            quantity=self.quantity[rows],
            quote_quantity=self.quote_quantity[rows],
            timestamp_ms=self.timestamp_ms[rows],
            is_buyer_maker=self.is_buyer_maker[rows],
            first_trade_id=None if self.first_trade_id is None else self.first_trade_id[rows],
            last_trade_id=None if self.last_trade_id is None else self.last_trade_id[rows],
        )

    def trade(self, row: int, symbol: str, source: TradeSource) -> Trade:
        """One row through the contract itself (the slow, reference path)."""
        return Trade(
            symbol=symbol,
            trade_id=int(self.trade_id[row]),
            price=float(self.price[row]),
            quantity=float(self.quantity[row]),
            quote_quantity=float(self.quote_quantity[row]),
            timestamp_ms=int(self.timestamp_ms[row]),
            is_buyer_maker=bool(self.is_buyer_maker[row]),
            source=source,
            first_trade_id=None if self.first_trade_id is None else int(self.first_trade_id[row]),
            last_trade_id=None if self.last_trade_id is None else int(self.last_trade_id[row]),
        )


@dataclass(frozen=True)
class RejectedRow:
    raw: str
    reason: str


def _ok(values: pa.Array, pattern: str) -> Bools:
    return np.asarray(pc.fill_null(pc.match_substring_regex(values, pattern), False), dtype=bool)


def _present(values: pa.Array) -> Bools:
    return np.asarray(pc.is_valid(values), dtype=bool)


def _integers(values: pa.Array) -> tuple[Ints, Bools]:
    if pa.types.is_integer(values.type):
        return pc.fill_null(values, 0).to_numpy(), _present(values)
    valid = _ok(values, _INTEGER) & (pc.utf8_length(values).to_numpy(zero_copy_only=False) <= 18)
    cleaned = pc.if_else(pa.array(valid), values, "0")
    return pc.cast(cleaned, pa.int64()).to_numpy(zero_copy_only=False), valid


def _decimals(values: pa.Array) -> tuple[Floats, Bools]:
    if pa.types.is_floating(values.type):
        numbers = pc.fill_null(values, 0.0).to_numpy()
        return numbers, _present(values) & np.isfinite(numbers)
    valid = _ok(values, _DECIMAL)
    cleaned = pc.if_else(pa.array(valid), values, "0")
    numbers = pc.cast(cleaned, pa.float64()).to_numpy(zero_copy_only=False)
    return numbers, valid & np.isfinite(numbers)


def _booleans(values: pa.Array) -> tuple[Bools, Bools]:
    if pa.types.is_boolean(values.type):
        return np.asarray(pc.fill_null(values, False), dtype=bool), _present(values)
    lowered = pc.fill_null(pc.utf8_lower(values), "")
    true = np.asarray(pc.equal(lowered, "true"), dtype=bool)
    false = np.asarray(pc.equal(lowered, "false"), dtype=bool)
    return true, true | false


def _epoch_ms(values: pa.Array) -> tuple[Ints, Bools]:
    raw, valid = _integers(values)
    millis = epoch_ms_array(raw)
    return millis, valid & (millis >= MIN_EPOCH_MS) & (millis < MAX_EPOCH_MS)


def columns_from_block(block: pa.RecordBatch, kind: DumpKind) -> tuple[TradeColumns, list[RejectedRow]]:
    """Convert one block (typed or text columns); invalid rows are dropped and returned as rejects."""
    column = block.column
    checks: list[tuple[str, Bools]] = []
    if kind is DumpKind.TRADES:
        trade_id, ok = _integers(column("id"))
        checks.append(("id must be a non-negative integer", ok & (trade_id >= 0)))
        quantity_name, time_name = "qty", "time"
    else:
        trade_id, ok = _integers(column("agg_trade_id"))
        checks.append(("agg_trade_id must be a non-negative integer", ok & (trade_id >= 0)))
        quantity_name, time_name = "quantity", "transact_time"
    price, ok = _decimals(column("price"))
    checks.append(("price must be a positive number", ok & (price > 0)))
    quantity, ok = _decimals(column(quantity_name))
    checks.append((f"{quantity_name} must be a positive number", ok & (quantity > 0)))
    timestamp_ms, ok = _epoch_ms(column(time_name))
    checks.append((f"{time_name} must be epoch ms or us between 2010 and 2100", ok))
    is_buyer_maker, ok = _booleans(column("is_buyer_maker"))
    checks.append(("is_buyer_maker must be True or False", ok))
    first_trade_id = last_trade_id = None
    if kind is DumpKind.TRADES:
        quote_quantity, ok = _decimals(column("quote_qty"))
        checks.append(("quote_qty must be a non-negative number", ok & (quote_quantity >= 0)))
    else:
        # aggTrades files carry no quote quantity; the exchange defines it as price x quantity.
        quote_quantity = price * quantity
        checks.append(("price x quantity overflows", np.isfinite(quote_quantity)))
        first_trade_id, ok_first = _integers(column("first_trade_id"))
        last_trade_id, ok_last = _integers(column("last_trade_id"))
        ids_ok = ok_first & ok_last & (first_trade_id >= 0) & (first_trade_id <= last_trade_id)
        checks.append(("first_trade_id/last_trade_id must be ids with first <= last", ids_ok))
    valid = np.logical_and.reduce([ok for _, ok in checks])
    columns = TradeColumns(
        trade_id, price, quantity, quote_quantity, timestamp_ms, is_buyer_maker, first_trade_id, last_trade_id
    )
    if valid.all():
        return columns, []
    return columns.take(valid), _rejects(block, checks, ~valid)


def _rejects(block: pa.RecordBatch, checks: list[tuple[str, Bools]], invalid: Bools) -> list[RejectedRow]:
    rows = np.flatnonzero(invalid)
    texts = [block.column(i).take(pa.array(rows)).to_pylist() for i in range(block.num_columns)]
    rejected = []
    for position, row in enumerate(rows):
        reason = next(name for name, ok in checks if not ok[row])
        raw = ",".join("" if part[position] is None else str(part[position]) for part in texts)
        rejected.append(RejectedRow(raw=raw, reason=reason))
    return rejected
