"""The one rule for dump-file timestamps: milliseconds, or microseconds from 2025 on, both out as ms."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from tickcast.binance_files.klines import parse_kline_csv, read_klines
from tickcast.binance_files.timestamps import MICROSECONDS_FROM, epoch_ms, epoch_ms_array
from tickcast.binance_files.trades import read_trades
from tickcast.contracts import MAX_EPOCH_MS, MIN_EPOCH_MS

# 2025-01-01T00:00:00Z, the first day Binance's spot dumps carry microseconds.
JAN_2025_MS = 1_735_689_600_000


def test_milliseconds_pass_through_and_microseconds_are_divided() -> None:
    assert epoch_ms(JAN_2025_MS) == JAN_2025_MS
    assert epoch_ms(JAN_2025_MS * 1000) == JAN_2025_MS
    assert epoch_ms(JAN_2025_MS * 1000 + 999) == JAN_2025_MS


def test_both_sides_of_the_threshold() -> None:
    assert epoch_ms(MICROSECONDS_FROM - 1) == MICROSECONDS_FROM - 1
    assert epoch_ms(MICROSECONDS_FROM) == MICROSECONDS_FROM // 1000
    values = np.array([MICROSECONDS_FROM - 1, MICROSECONDS_FROM, JAN_2025_MS, JAN_2025_MS * 1000], np.int64)
    assert epoch_ms_array(values).tolist() == [
        MICROSECONDS_FROM - 1,
        MICROSECONDS_FROM // 1000,
        JAN_2025_MS,
        JAN_2025_MS,
    ]


def test_the_threshold_separates_every_timestamp_a_trade_may_carry() -> None:
    # The latest millisecond a contract accepts stays below it; the earliest microsecond is above it.
    assert MAX_EPOCH_MS < MICROSECONDS_FROM <= MIN_EPOCH_MS * 1000


def test_every_reader_applies_the_same_rule(tmp_path: Path) -> None:
    micro = JAN_2025_MS * 1000
    trades = tmp_path / "BTCUSDT-trades-2025-01-01.zip"
    with zipfile.ZipFile(trades, "w") as archive:
        archive.writestr(
            "BTCUSDT-trades-2025-01-01.csv",
            f"1,100.0,0.5,50.0,{micro},True,True\n2,100.0,0.5,50.0,{JAN_2025_MS + 1},False,True\n",
        )
    assert [trade.timestamp_ms for trade in read_trades(trades, "BTCUSDT")] == [JAN_2025_MS, JAN_2025_MS + 1]

    kline_row = f"{micro},1,1,1,1,1,{micro + 59_999_999},1,1,1,1,0\n"
    klines_file = tmp_path / "BTCUSDT-1m-2025-01-01.csv"
    klines_file.write_text(kline_row)
    assert list(read_klines(klines_file)) == [JAN_2025_MS]
    frame = parse_kline_csv(kline_row.encode())
    assert frame["open_time"].tolist() == [JAN_2025_MS]
    assert frame["close_time"].tolist() == [JAN_2025_MS + 59_999]
