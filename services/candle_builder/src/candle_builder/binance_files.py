"""Trades from the exchange's public data-dump files (``data.binance.vision`` layout).

Two CSV layouts, with or without a header row, alone or as the single member of a zip:

* trades (7 columns): ``id, price, qty, quote_qty, time, is_buyer_maker, is_best_match``
* aggTrades (8 columns): ``agg_id, price, qty, first_trade_id, last_trade_id, time,
  is_buyer_maker, is_best_match``; they carry no quote quantity, so it is price x qty
  (every trade of an aggregate has the same price, so the sum is the same).

Times are epoch milliseconds, or microseconds in the spot files from 2025 on;
both come out as milliseconds.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from tickcast.contracts import Trade, TradeSource

_MICROSECONDS_FROM = 10**14  # an epoch-ms value this large would be after year 5000


def _epoch_ms(text: str) -> int:
    value = int(text)
    return value // 1000 if value >= _MICROSECONDS_FROM else value


def _is_true(text: str) -> bool:
    return text.strip().lower() == "true"


def _rows(path: Path) -> Iterator[list[str]]:
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            (member,) = archive.namelist()
            with archive.open(member) as raw:
                yield from csv.reader(io.TextIOWrapper(raw, encoding="utf-8"))
    else:
        with path.open(newline="", encoding="utf-8") as handle:
            yield from csv.reader(handle)


def read_trades(path: Path, symbol: str, source: TradeSource = "replay") -> Iterator[Trade]:
    """Every trade of a trades or aggTrades dump file, in file order."""
    for row in _rows(path):
        if not row or not row[0].strip().isdigit():
            continue  # header or blank line
        if len(row) == 7:
            trade_id, price, quantity, quote, time, buyer_maker, _best = row
            yield Trade(
                symbol=symbol,
                trade_id=int(trade_id),
                price=float(price),
                quantity=float(quantity),
                quote_quantity=float(quote),
                timestamp_ms=_epoch_ms(time),
                is_buyer_maker=_is_true(buyer_maker),
                source=source,
            )
        elif len(row) == 8:
            agg_id, price, quantity, first_id, last_id, time, buyer_maker, _best = row
            yield Trade(
                symbol=symbol,
                trade_id=int(agg_id),
                price=float(price),
                quantity=float(quantity),
                quote_quantity=float(price) * float(quantity),
                timestamp_ms=_epoch_ms(time),
                is_buyer_maker=_is_true(buyer_maker),
                source=source,
                first_trade_id=int(first_id),
                last_trade_id=int(last_id),
            )
        else:
            raise ValueError(
                f"{path.name}: expected 7 (trades) or 8 (aggTrades) columns, got {len(row)}: {row}"
            )


def symbol_from_filename(path: Path) -> str:
    """``BTCUSDT-trades-2021-01-02.csv`` -> ``BTCUSDT``."""
    return path.name.split("-", 1)[0].upper()


KLINE_FIELDS = (
    "open_time_ms",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time_ms",
    "quote_volume",
    "trade_count",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
)


def read_klines(path: Path) -> dict[int, dict[str, float | int]]:
    """The exchange's klines of a dump file (12 columns), by open time; for comparing candles."""
    klines: dict[int, dict[str, float | int]] = {}
    for row in _rows(path):
        if not row or not row[0].strip().isdigit():
            continue
        values = dict(zip(KLINE_FIELDS, row[:11], strict=True))
        kline: dict[str, float | int] = {
            name: _epoch_ms(text)
            if name.endswith("_ms")
            else int(text)
            if name == "trade_count"
            else float(text)
            for name, text in values.items()
        }
        klines[int(kline["open_time_ms"])] = kline
    return klines
