"""A dump file as bytes or CSV rows: a plain ``.csv``, or a zip holding exactly one ``.csv``."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


class DumpFileError(ValueError):
    """A path that is not a readable data-dump file (bad name, no CSV, unknown layout)."""


@contextmanager
def open_csv_bytes(path: Path) -> Iterator[tuple[IO[bytes], int]]:
    """The CSV byte stream of a plain or zipped file, with its uncompressed size."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if info.filename.endswith(".csv")]
            if len(members) != 1:
                raise DumpFileError(f"{path.name}: expected exactly one .csv inside, found {len(members)}")
            with archive.open(members[0]) as stream:
                yield stream, members[0].file_size
    else:
        with path.open("rb") as stream:
            yield stream, path.stat().st_size


def read_csv_bytes(path: Path) -> bytes:
    """The whole CSV of a plain or zipped file."""
    with open_csv_bytes(path) as (stream, _size):
        return stream.read()


def csv_rows(path: Path) -> Iterator[list[str]]:
    """The CSV rows of a plain or zipped file, as text."""
    with open_csv_bytes(path) as (stream, _size):
        yield from csv.reader(io.TextIOWrapper(stream, encoding="utf-8", newline=""))
