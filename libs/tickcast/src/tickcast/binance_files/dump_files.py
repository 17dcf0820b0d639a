"""Trades and aggTrades dump files (``data.binance.vision``): find them and read their rows in blocks.

``trades`` files have the columns ``id,price,qty,quote_qty,time,is_buyer_maker[,is_best_match]``;
``aggTrades`` files ``agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,
is_buyer_maker[,is_best_match]``. Either may be a plain or zipped CSV, with or without a header
row. Rows are read as text, in blocks, so that one bad value refuses one row, not the file.
Needs pyarrow (``tickcast[dump-files]``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.csv as pacsv
import structlog

from tickcast.binance_files.archive import DumpFileError, open_csv_bytes

__all__ = ["DumpFile", "DumpFileError", "DumpKind", "describe", "discover", "open_csv_bytes", "read_blocks"]

log = structlog.get_logger(__name__)

TRADE_COLUMNS = ("id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match")
AGG_TRADE_COLUMNS = (
    "agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id",
    "transact_time", "is_buyer_maker", "is_best_match",
)  # fmt: skip

_FILE_NAME = re.compile(
    r"^(?P<symbol>[A-Z0-9]+)-(?P<kind>trades|aggTrades)-(?P<date>\d{4}-\d{2}(?:-\d{2})?)(?:\.csv)?(?:\.zip)?$"
)
BLOCK_BYTES = 8 << 20


class DumpKind(StrEnum):
    TRADES = "trades"
    AGG_TRADES = "aggTrades"

    @property
    def columns(self) -> tuple[str, ...]:
        return TRADE_COLUMNS if self is DumpKind.TRADES else AGG_TRADE_COLUMNS

    @property
    def types(self) -> dict[str, pa.DataType]:
        return {name: _COLUMN_TYPES.get(name, pa.float64()) for name in self.columns}


# Columns not listed here are decimals.
_COLUMN_TYPES = {
    "id": pa.int64(), "agg_trade_id": pa.int64(), "first_trade_id": pa.int64(),
    "last_trade_id": pa.int64(), "time": pa.int64(), "transact_time": pa.int64(),
    "is_buyer_maker": pa.bool_(), "is_best_match": pa.bool_(),
}  # fmt: skip


@dataclass(frozen=True)
class DumpFile:
    path: Path
    symbol: str
    kind: DumpKind
    date: str  # "YYYY-MM-DD" or "YYYY-MM" from the name; "" when the name does not say

    @property
    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.date, self.symbol, self.kind, self.path.name)


def describe(path: Path, symbol: str | None = None, kind: DumpKind | None = None) -> DumpFile:
    """Symbol, kind and date of a dump file from its name; ``symbol``/``kind`` override the name."""
    match = _FILE_NAME.match(path.name)
    symbol = symbol or (match["symbol"] if match else None)
    kind = kind or (DumpKind(match["kind"]) if match else None)
    if symbol is None or kind is None:
        raise DumpFileError(
            f"{path.name}: cannot tell symbol and kind from the name (expected e.g. "
            "BTCUSDT-trades-2024-01-01.zip); pass --symbol and --kind"
        )
    return DumpFile(path=path, symbol=symbol.upper(), kind=kind, date=match["date"] if match else "")


def discover(path: Path, symbol: str | None = None, kind: DumpKind | None = None) -> list[DumpFile]:
    """One file, or the dump files in a folder (recursively), sorted by date.

    In a folder, files not named like dump files (klines, checksums, notes) are
    skipped, unless both ``symbol`` and ``kind`` say how to read every file.
    """
    if path.is_file():
        return [describe(path, symbol, kind)]
    if not path.is_dir():
        raise DumpFileError(f"{path}: no such file or folder")
    candidates = [p for p in path.rglob("*") if p.is_file() and p.name.endswith((".csv", ".zip"))]
    take_all = symbol is not None and kind is not None
    files, skipped = [], []
    for candidate in candidates:
        match = _FILE_NAME.match(candidate.name)
        if take_all or (match and (kind is None or match["kind"] == kind)):
            files.append(describe(candidate, symbol, kind))
        else:
            skipped.append(candidate.name)
    if skipped:
        log.warning(
            "files not named like trades dumps skipped", count=len(skipped), examples=sorted(skipped)[:3]
        )
    if not files:
        raise DumpFileError(f"{path}: no trades or aggTrades dump files in this folder")
    return sorted(files, key=lambda dump: dump.sort_key)


class _ByteStream:
    """Read-only stream that first gives back an already-read prefix and reports bytes read."""

    def __init__(self, prefix: bytes, stream: IO[bytes], on_read: Callable[[int], object]) -> None:
        self._prefix = prefix
        self._stream = stream
        self._on_read = on_read
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        head, self._prefix = self._prefix, b""
        wanted = -1 if size < 0 else max(size - len(head), 0)
        chunk = self._stream.read(wanted) if wanted else b""
        self._on_read(len(chunk))
        return head + chunk

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


def _has_header(first_line: bytes) -> bool:
    # Every dump column is numeric or True/False; a header starts with a letter.
    return not first_line[:1].isdigit()


def read_blocks(
    dump: DumpFile,
    on_bytes: Callable[[int], object] = lambda _n: None,
    on_malformed_row: Callable[[str], object] = lambda _text: None,
    typed: bool = True,
    block_bytes: int = BLOCK_BYTES,
) -> Iterator[pa.RecordBatch]:
    """The file's rows in blocks of columns named as in :attr:`DumpKind.columns`.

    ``typed`` parses numbers and booleans while reading (fast; raises
    ``pyarrow.ArrowInvalid`` at the first value that does not parse); otherwise
    every column is text, so that bad values can be refused row by row. The
    header row is detected (and skipped) from the first line; files without the
    trailing ``is_best_match`` column are accepted. Rows with the wrong number of
    fields go to ``on_malformed_row`` and are skipped.
    """
    with open_csv_bytes(dump.path) as (stream, _size):
        first_line = stream.readline()
        if not first_line.strip():
            return
        on_bytes(len(first_line))
        names = list(dump.kind.columns)
        width = first_line.count(b",") + 1
        if width not in (len(names), len(names) - 1):
            raise DumpFileError(
                f"{dump.path.name}: {width} columns, a {dump.kind} file has {len(names)} ({','.join(names)})"
            )
        names = names[:width]
        prefix = b"" if _has_header(first_line) else first_line

        def skip_malformed(row: pacsv.InvalidRow) -> str:
            on_malformed_row(row.text or "")
            return "skip"

        reader = pacsv.open_csv(
            pa.PythonFile(_ByteStream(prefix, stream, on_bytes), mode="r"),
            read_options=pacsv.ReadOptions(column_names=names, block_size=block_bytes),
            convert_options=pacsv.ConvertOptions(
                column_types={name: dump.kind.types[name] if typed else pa.string() for name in names}
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=skip_malformed),
        )
        yield from reader
