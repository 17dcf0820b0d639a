"""Replay through the CLI into the real broker: every row once, in order, same values."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import orjson
import pytest

from support.kafka import Record, consume
from tickcast.contracts import Trade
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

from .conftest import run_cli

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

    records = consume(kafka_settings, topics(Topic.TRADES), expected=len(expected), idle=3.0)
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
    assert "row rejected" in result.stderr and ",".join(bad) in result.stderr
    expected = _expected_rows(source)
    del expected[5]
    records = consume(kafka_settings, topics(Topic.TRADES), expected=len(expected))
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
    records = consume(kafka_settings, topics(Topic.TRADES), expected=200)
    assert [orjson.loads(record.value)["trade_id"] for record in records] == [int(l.split(",")[0]) for l in lines]
