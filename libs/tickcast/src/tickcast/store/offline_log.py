"""The offline store's files: parquet parts, idempotent by key, readable by key range.

Layout: ``<root>/<feature_set_version>/interval=<interval>/part-<ns>-<id>.parquet``.
A write adds one part (written aside, then renamed into place, so a reader never
sees half a file). Reads keep, for each ``(symbol, interval, timestamp_ms)``, the
row written last, so a replayed write changes nothing. Compaction merges the
parts of an interval into one; only the writing process compacts.

The same files are the Feast ``FileSource`` (duckdb offline store) for point-in-time
joins, with ``written_at`` as its created-timestamp column to break ties the same way.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import structlog

from tickcast.store.base import KEY_COLUMNS, META_COLUMNS
from tickcast.store.frames import with_event_time
from tickcast.features import FEATURE_NAMES, FEATURE_SET_VERSION

log = structlog.get_logger(__name__)


def part_schema(feature_names: Sequence[str] = FEATURE_NAMES) -> pa.Schema:
    return pa.schema(
        [
            ("symbol", pa.string()),
            ("interval", pa.string()),
            ("timestamp_ms", pa.int64()),
            ("feature_set_version", pa.string()),
            ("close", pa.float64()),
            *[(name, pa.float64()) for name in feature_names],
            ("event_timestamp", pa.timestamp("us", tz="UTC")),
            ("written_at", pa.timestamp("us", tz="UTC")),
        ]
    )


def offline_root(repo_path: Path) -> Path:
    """Where the Feast repository at ``repo_path`` keeps its offline parts (the FileSource)."""
    return repo_path.resolve() / "offline"


class OfflineLog:
    def __init__(self, root: Path, compact_parts: int = 256, version: str = FEATURE_SET_VERSION) -> None:
        self.root = root.resolve() / version  # absolute: duckdb resolves relative paths against the cwd
        self.compact_parts = compact_parts
        self.schema = part_schema()
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def glob(self) -> str:
        """Every part of this feature-set version (the Feast FileSource path)."""
        return str(self.root / "*" / "*.parquet")

    def ensure_readable(self) -> None:
        """Give the glob a file to match (an empty part) so that readers never fail on 'no files'."""
        if not any(self.root.glob("*/*.parquet")):
            self._write_part(self.schema.empty_table(), "interval=_empty")

    def write(self, frame: pd.DataFrame) -> None:
        """Append the frame's rows (any intervals) as new parts; compacts when parts pile up."""
        if frame.empty:
            return
        stamped = with_event_time(frame, pd.Timestamp.now(tz="UTC"))
        for interval, rows in stamped.groupby("interval", sort=False):
            rows = rows.sort_values(["symbol", "timestamp_ms"], kind="stable")
            table = pa.Table.from_pandas(rows, schema=self.schema, preserve_index=False)
            self._write_part(table, f"interval={interval}")
            if len(self._parts(str(interval))) >= self.compact_parts:
                self.compact(str(interval))

    def read(self, symbols: Sequence[str], interval: str, start_ms: int, end_ms: int) -> pd.DataFrame:
        parts = self._parts(interval)
        columns = [*KEY_COLUMNS, *META_COLUMNS, *FEATURE_NAMES]
        if not parts or not symbols:
            return pd.DataFrame(
                {name: pd.Series(dtype=self.schema.field(name).type.to_pandas_dtype()) for name in columns}
            )
        return self._query_latest(
            parts,
            "symbol IN (SELECT unnest($symbols)) AND timestamp_ms >= $start AND timestamp_ms < $end",
            {"symbols": list(symbols), "start": start_ms, "end": end_ms},
            columns,
        )

    def time_span(self, symbol: str, interval: str) -> tuple[int, int] | None:
        """First and last ``timestamp_ms`` stored for ``symbol``; None when it has no row."""
        parts = self._parts(interval)
        if not parts:
            return None
        query = "SELECT min(timestamp_ms), max(timestamp_ms) FROM read_parquet($files) WHERE symbol = $symbol"
        with duckdb.connect() as connection:
            first, last = connection.execute(query, {"files": [str(p) for p in parts], "symbol": symbol}).fetchone()
        return None if first is None else (int(first), int(last))

    def compact(self, interval: str) -> int:
        """Merge an interval's parts into one (newest row per key); returns the parts merged."""
        parts = self._parts(interval)
        if len(parts) < 2:
            return 0
        columns = [field.name for field in self.schema]
        merged = self._query_latest(parts, "TRUE", {}, columns)
        table = pa.Table.from_pandas(merged, schema=self.schema, preserve_index=False)
        self._write_part(table, f"interval={interval}")
        for part in parts:
            part.unlink(missing_ok=True)
        log.info("offline parts compacted", interval=interval, parts=len(parts), rows=len(merged))
        return len(parts)

    def _query_latest(
        self, parts: list[Path], where: str, parameters: dict[str, object], columns: list[str]
    ) -> pd.DataFrame:
        selected = ", ".join(f'"{name}"' for name in columns)
        files = [str(part) for part in parts]
        query = f"""
            SELECT {selected} FROM read_parquet($files)
            WHERE {where}
            QUALIFY row_number() OVER (
                PARTITION BY symbol, interval, timestamp_ms ORDER BY written_at DESC
            ) = 1
            ORDER BY symbol, timestamp_ms
        """
        with duckdb.connect() as connection:
            return connection.execute(query, {"files": files, **parameters}).df()

    def _parts(self, interval: str) -> list[Path]:
        return sorted((self.root / f"interval={interval}").glob("*.parquet"))

    def _write_part(self, table: pa.Table, folder: str) -> Path:
        directory = self.root / folder
        directory.mkdir(parents=True, exist_ok=True)
        name = f"part-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
        staging = directory / f".{name}.tmp"
        pq.write_table(table, staging)
        final = directory / name
        os.replace(staging, final)
        return final
