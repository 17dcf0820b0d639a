"""Replay through the CLI into the real broker: every row once, in order, same values."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import orjson
import pytest

from support.kafka import Record
from tickcast.contracts import Trade
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

from .conftest import ROOT, read_topic, run_cli

pytestmark = pytest.mark.integration


def _expected_rows(path: Path) -> list[dict[str, object]]:
    with path.open() as stream:
        return [
            {
                "trade_id": int(row[0]),
                "price": float(row[1]),
                "quantity": float(row[2]),
                "quote_quantity": float(row[3]),
                "timestamp_ms": int(row[4]),
                "is_buyer_maker": row[5] == "True",
            }
            for row in csv.reader(stream)
        ]


def _as_rows(records: list[Record]) -> list[dict[str, object]]:
    rows = []
    for record in records:
        trade = Trade.parse(record.value)
        assert record.key == b"BTCUSDT"
        assert trade.source == "replay" and trade.symbol == "BTCUSDT" and not trade.is_aggregate
        rows.append(trade.model_dump(include={"trade_id", "price", "quantity", "quote_quantity",
                                              "timestamp_ms", "is_buyer_maker"}))  # fmt: skip
    return rows


def test_replaying_a_folder_twice_yields_every_row_once_in_order(
    kafka_settings: KafkaSettings, topics: TopicNames, real_trade_files: list[Path]
) -> None:
    folder = real_trade_files[0].parent
    expected = [row for path in real_trade_files for row in _expected_rows(path)]

    first = run_cli("replay", str(folder), "--no-progress")
    assert first.returncode == 0, first.stderr
    second = run_cli("replay", str(folder), "--no-progress")
    assert second.returncode == 0, second.stderr

    records = read_topic(kafka_settings, topics(Topic.TRADES), expected=len(expected), idle=1.0)
    assert len({record.partition for record in records}) == 1  # one key, one partition, one order
    assert _as_rows(records) == expected
    assert f"skipped_duplicates={len(expected)}" in second.stderr


def test_zipped_file_with_header_and_a_bad_row(
    kafka_settings: KafkaSettings, topics: TopicNames, real_trade_files: list[Path], tmp_path: Path
) -> None:
    source = real_trade_files[-1]
    lines = source.read_text().splitlines()
    bad = lines[5].split(",")
    bad[1] = "29000.5x"  # a price that does not parse
    text = "\n".join(["id,price,qty,quote_qty,time,is_buyer_maker,is_best_match", *lines[:5],
                      ",".join(bad), *lines[6:]]) + "\n"  # fmt: skip
    archive_path = tmp_path / "export.zip"
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(source.name, text)

    result = run_cli("replay", str(archive_path), "--symbol", "BTCUSDT", "--kind", "trades", "--no-progress")

    assert result.returncode == 0, result.stderr
    assert "rows rejected" in result.stderr and ",".join(bad) in result.stderr
    expected = _expected_rows(source)
    del expected[5]
    records = read_topic(kafka_settings, topics(Topic.TRADES), expected=len(expected))
    assert _as_rows(records) == expected


def test_paced_replay_follows_trade_time(
    kafka_settings: KafkaSettings, topics: TopicNames, real_trade_files: list[Path], tmp_path: Path
) -> None:
    # 2021-01-01 slice: the first 200 trades span about 6.5 s of market time; at 20x that is ~0.3 s.
    source = real_trade_files[0]
    lines = source.read_text().splitlines()[:200]
    path = tmp_path / source.name
    path.write_text("\n".join(lines) + "\n")
    span_ms = int(lines[-1].split(",")[4]) - int(lines[0].split(",")[4])

    result = run_cli("replay", str(path), "--speed", "20", "--no-progress")

    assert result.returncode == 0, result.stderr
    finished = next(line for line in result.stderr.splitlines() if "replay finished" in line)
    seconds = float(finished.split("seconds=")[1].split()[0])
    assert seconds >= span_ms / 1000 / 20 * 0.95
    records = read_topic(kafka_settings, topics(Topic.TRADES), expected=200)
    assert [orjson.loads(record.value)["trade_id"] for record in records] == [
        int(line.split(",")[0]) for line in lines
    ]


def test_zipped_agg_trades_in_microseconds_with_header(
    kafka_settings: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    # The 2025+ layout: aggTrades, header row, microsecond transact_time.
    rows = [
        (3_400_000_000 + i, f"{94_000 + i * 0.01:.8f}", f"{0.0005 * (i % 5 + 1):.8f}", 4_300_000_000 + 3 * i,
         4_300_000_002 + 3 * i, 1_735_689_600_000_000 + 1_000 * i + 7, "True" if i % 2 else "False", "True")
        for i in range(500)
    ]  # fmt: skip
    text = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,"
    text += "is_buyer_maker,is_best_match\n"
    text += "".join(",".join(map(str, row)) + "\n" for row in rows)
    path = tmp_path / "ETHUSDT-aggTrades-2025-01-01.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ETHUSDT-aggTrades-2025-01-01.csv", text)

    result = run_cli("replay", str(path), "--no-progress")

    assert result.returncode == 0, result.stderr
    records = read_topic(kafka_settings, topics(Topic.TRADES), expected=len(rows))
    trades = [Trade.parse(record.value) for record in records]
    assert [(t.trade_id, t.first_trade_id, t.last_trade_id, t.timestamp_ms) for t in trades] == [
        (row[0], row[3], row[4], row[5] // 1000) for row in rows
    ]
    assert [(t.price, t.quantity, t.is_buyer_maker) for t in trades] == [
        (float(row[1]), float(row[2]), row[6] == "True") for row in rows
    ]
    assert all(t.symbol == "ETHUSDT" and t.trade_count == 3 and t.source == "replay" for t in trades)


def test_sigterm_during_replay_flushes_what_was_sent_and_exits_cleanly(
    kafka_settings: KafkaSettings, topics: TopicNames, real_trade_files: list[Path]
) -> None:
    source = real_trade_files[1]  # three minutes of trades: at 1x the replay is still running when stopped
    process = subprocess.Popen(
        [sys.executable, "-m", "trade_producer", "replay", str(source), "--speed", "1", "--no-progress"],
        stderr=subprocess.PIPE, text=True, env=os.environ.copy(), cwd=ROOT,
    )  # fmt: skip
    records: list[Record] = []
    deadline = time.monotonic() + 60
    while not records and time.monotonic() < deadline:  # wait until it is really producing
        records = read_topic(kafka_settings, topics(Topic.TRADES), timeout=2, idle=0.5)
    process.send_signal(signal.SIGTERM)
    _out, stderr = process.communicate(timeout=60)

    assert process.returncode == 0, stderr[-3000:]
    assert "stopped_early=True" in stderr and "trades flushed" in stderr
    produced = int(stderr.split("replay finished")[1].split("produced=")[1].split()[0])
    records = read_topic(kafka_settings, topics(Topic.TRADES), expected=produced)
    expected = _expected_rows(source)
    assert 0 < produced < len(expected)
    assert _as_rows(records) == expected[:produced]
