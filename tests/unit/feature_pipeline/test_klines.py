from __future__ import annotations

import zipfile
from datetime import date
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from tickcast.binance_files.klines import KLINE_COLUMNS, find_kline_files, read_kline_file, read_kline_files
from tickcast.candle_frames import candles_to_frame, frame_to_candles
from tickcast.contracts import Candle


def _csv_member(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(archive.namelist()[0])


def test_real_daily_zip_reads_as_1440_valid_candles(kline_files: Callable[[str], list[Path]]) -> None:
    (path,) = kline_files("BTCUSDT-1m-2024-01-01.zip")
    frame = read_kline_file(path)
    assert len(frame) == 1440
    assert frame["open_time_ms"].iloc[0] == 1_704_067_200_000
    assert (frame["open_time_ms"].diff().dropna() == 60_000).all()
    candles = frame_to_candles(frame)
    assert all(isinstance(candle, Candle) for candle in candles)
    first_row = _csv_member(path).split(b"\n")[0].decode().split(",")
    assert candles[0].open == float(first_row[1]) and candles[0].close == float(first_row[4])
    assert candles[0].trade_count == int(first_row[8])
    assert candles[0].vwap == pytest.approx(float(first_row[7]) / float(first_row[5]), rel=1e-12)


def test_header_csv_and_microsecond_times_give_the_same_frame(
    tmp_path: Path, kline_files: Callable[[str], list[Path]]
) -> None:
    (path,) = kline_files("BTCUSDT-1m-2024-01-02.zip")
    reference = read_kline_file(path)
    lines = _csv_member(path).decode().strip().split("\n")
    with_header = tmp_path / "BTCUSDT-1m-2024-01-02.csv"
    with_header.write_text(",".join(KLINE_COLUMNS) + "\n" + "\n".join(lines) + "\n")
    micro_rows = []
    for line in lines:
        cells = line.split(",")
        cells[0] = str(int(cells[0]) * 1000)
        cells[6] = str(int(cells[6]) * 1000 + 999)
        micro_rows.append(",".join(cells))
    micro = tmp_path / "micro" / "BTCUSDT-1m-2024-01-02.zip"
    micro.parent.mkdir()
    with zipfile.ZipFile(micro, "w") as archive:
        archive.writestr("BTCUSDT-1m-2024-01-02.csv", "\n".join(micro_rows) + "\n")
    pd.testing.assert_frame_equal(read_kline_file(with_header), reference)
    pd.testing.assert_frame_equal(read_kline_file(micro), reference)


def test_no_trade_kline_becomes_a_gap_fill_candle(tmp_path: Path) -> None:
    path = tmp_path / "quiet.csv"
    path.write_text("1704067200000,100.0,100.0,100.0,100.0,0.0,1704067259999,0.0,0,0.0,0.0,0\n")
    (candle,) = frame_to_candles(read_kline_file(path, symbol="QUIETUSDT", interval="1m"))
    assert candle.is_gap_fill and candle.vwap == 100.0 and candle.volume == 0


def test_candle_objects_round_trip_through_a_frame(kline_files: Callable[[str], list[Path]]) -> None:
    frame = read_kline_file(kline_files("BTCUSDT-1m-2024-01-03.zip")[0]).head(50)
    pd.testing.assert_frame_equal(candles_to_frame(frame_to_candles(frame)), frame)


def test_find_and_read_files_by_date_range_without_duplicates(klines_dir: Path) -> None:
    found = find_kline_files(klines_dir.parents[4], "BTCUSDT", "1m", date(2024, 1, 2), date(2024, 1, 4))
    assert [path.name for path in found] == [f"BTCUSDT-1m-2024-01-0{day}.zip" for day in (2, 3, 4)]
    frame = read_kline_files(found + found[:1])
    assert len(frame) == 3 * 1440 and frame["open_time_ms"].is_monotonic_increasing
