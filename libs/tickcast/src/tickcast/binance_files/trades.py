"""Trades from the exchange's public data-dump files (``data.binance.vision`` layout).

Two CSV layouts, with or without a header row, alone or as the single member of a zip:

* trades (7 columns): ``id, price, qty, quote_qty, time, is_buyer_maker, is_best_match``
* aggTrades (8 columns): ``agg_id, price, qty, first_trade_id, last_trade_id, time,
  is_buyer_maker, is_best_match``; they carry no quote quantity, so it is price x qty
  (every trade of an aggregate has the same price, so the sum is the same).

Times come out as epoch milliseconds (:mod:`.timestamps`). For replaying whole folders
fast, :mod:`.dump_files` reads the same files in column blocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tickcast.binance_files.archive import csv_rows
from tickcast.binance_files.timestamps import epoch_ms
from tickcast.contracts import Trade, TradeSource


def _is_true(text: str) -> bool:
    return text.strip().lower() == "true"



def read_trades(path: Path, symbol: str, source: TradeSource = "replay") -> Iterator[Trade]:
    """Every trade of a trades or aggTrades dump file, in file order."""
    for row in csv_rows(path):
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
                timestamp_ms=epoch_ms(int(time)),
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
                timestamp_ms=epoch_ms(int(time)),
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
