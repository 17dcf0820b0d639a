"""Reading Binance data-dump files: names, headers, zips, both formats, bad rows."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from trade_producer.columns import columns_from_block
from tickcast.binance_files.dump_files import DumpFileError, DumpKind, describe, discover, read_blocks

TRADE_ROWS = (
    "536837317,29023.66000000,0.00278800,80.91796408,1609462631341,True,True\n"
    "536837318,29023.67000000,0.00059400,17.24005998,1609462631381,False,True\n"
)
TRADE_HEADER = "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match\n"
AGG_ROWS = (
    "3345678901,93576.00000000,0.00312000,4906549101,4906549103,1735689600092000,False,True\n"
    "3345678902,93576.01000000,0.00100000,4906549104,4906549104,1735689600100000,True,True\n"
)


def _read(path: Path, typed: bool = True):
    dump = describe(path)
    blocks = list(read_blocks(dump, typed=typed))
    return dump, [columns_from_block(block, dump.kind) for block in blocks]


@pytest.mark.parametrize("header", [False, True])
@pytest.mark.parametrize("zipped", [False, True])
def test_trades_file_with_or_without_header_plain_or_zipped(
    tmp_path: Path, header: bool, zipped: bool
) -> None:
    text = (TRADE_HEADER if header else "") + TRADE_ROWS
    csv_name = "BTCUSDT-trades-2021-01-01.csv"
    if zipped:
        path = tmp_path / "BTCUSDT-trades-2021-01-01.zip"  # Binance's own name for the archive
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(csv_name, text)
    else:
        path = tmp_path / csv_name
        path.write_text(text)

    dump, [(columns, rejects)] = _read(path)

    assert (dump.symbol, dump.kind, dump.date) == ("BTCUSDT", DumpKind.TRADES, "2021-01-01")
    assert rejects == []
    assert columns.trade_id.tolist() == [536837317, 536837318]
    assert columns.price.tolist() == [29023.66, 29023.67]
    assert columns.quote_quantity.tolist() == [80.91796408, 17.24005998]
    assert columns.timestamp_ms.tolist() == [1609462631341, 1609462631381]
    assert columns.is_buyer_maker.tolist() == [True, False]
    assert not columns.is_aggregate


def test_agg_trades_in_microseconds_become_milliseconds_with_trade_id_range(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-aggTrades-2025-01-01.csv"
    path.write_text(AGG_ROWS)

    _dump, [(columns, rejects)] = _read(path)

    assert rejects == []
    assert columns.is_aggregate
    assert columns.timestamp_ms.tolist() == [1735689600092, 1735689600100]
    assert columns.first_trade_id.tolist() == [4906549101, 4906549104]  # type: ignore[union-attr]
    assert columns.last_trade_id.tolist() == [4906549103, 4906549104]  # type: ignore[union-attr]
    # The dump carries no quote quantity for aggregates: price x quantity, as the exchange defines it.
    assert columns.quote_quantity.tolist() == [93576.0 * 0.00312, 93576.01 * 0.001]
    trade = columns.trade(0, "BTCUSDT", "replay")
    assert trade.trade_count == 3


def test_typed_reading_stops_at_a_value_that_does_not_parse(tmp_path: Path) -> None:
    path = tmp_path / "ETHUSDT-trades-2021-01-01.csv"
    path.write_text("1,100.5,0.1,10.05,1609462631341,True,True\n2,abc,0.1,10.05,1609462631342,True,True\n")
    with pytest.raises(pa.ArrowInvalid):
        _read(path, typed=True)


def test_typed_blocks_refuse_values_outside_the_contract(tmp_path: Path) -> None:
    path = tmp_path / "ETHUSDT-trades-2021-01-01.csv"
    path.write_text(
        "1,100.5,0.1,10.05,1609462631341,True,True\n"
        "2,100.5,0,0,1609462631343,False,True\n"  # zero quantity
        "3,-1,0.1,10.05,1609462631343,False,True\n"  # negative price
        "4,100.5,0.1,10.05,99,False,True\n"  # time is not an epoch
        "5,nan,0.1,10.05,1609462631345,False,True\n"
        "6,100.7,0.2,20.14,1609462631347,False,True\n"
    )
    _dump, [(columns, rejects)] = _read(path, typed=True)
    assert columns.trade_id.tolist() == [1, 6]
    assert [(r.raw.split(",")[0], r.reason.split()[0]) for r in rejects] == [
        ("2", "qty"), ("3", "price"), ("4", "time"), ("5", "price")
    ]  # fmt: skip
    assert rejects[0].raw == "2,100.5,0.0,0.0,1609462631343,False,True"


def test_bad_rows_are_refused_one_by_one_with_their_text(tmp_path: Path) -> None:
    path = tmp_path / "ETHUSDT-trades-2021-01-01.csv"
    path.write_text(
        "1,100.5,0.1,10.05,1609462631341,True,True\n"
        "2,abc,0.1,10.05,1609462631342,True,True\n"  # price does not parse
        "3,100.5,0,0,1609462631343,False,True\n"  # zero quantity
        "4,100.5,0.1,10.05,99,False,True\n"  # time is not an epoch
        "5,nan,0.1,10.05,1609462631345,False,True\n"
        "6,100.5,0.1,10.05,1609462631346,maybe,True\n"
        "7,100.7,0.2,20.14,1609462631347,False,True\n"
    )

    _dump, [(columns, rejects)] = _read(path, typed=False)

    assert columns.trade_id.tolist() == [1, 7]
    assert [reject.raw.split(",")[0] for reject in rejects] == ["2", "3", "4", "5", "6"]
    assert rejects[0].raw == "2,abc,0.1,10.05,1609462631342,True,True"
    assert rejects[0].reason.startswith("price")
    assert rejects[1].reason.startswith("qty")
    assert rejects[2].reason.startswith("time")
    assert rejects[4].reason.startswith("is_buyer_maker")


def test_rows_with_wrong_field_count_are_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-trades-2021-01-01.csv"
    path.write_text(TRADE_ROWS + "99,1.0\n" + "536837319,29023.66,0.1,2902.366,1609462631389,True,True\n")
    malformed: list[str] = []
    dump = describe(path)

    blocks = list(read_blocks(dump, on_malformed_row=malformed.append))

    assert malformed == ["99,1.0"]
    ids = np.concatenate([columns_from_block(block, dump.kind)[0].trade_id for block in blocks])
    assert ids.tolist() == [536837317, 536837318, 536837319]


def test_symbol_and_kind_overrides_for_files_named_otherwise(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(TRADE_ROWS)
    with pytest.raises(DumpFileError, match="--symbol and --kind"):
        describe(path)
    dump = describe(path, symbol="solusdt", kind=DumpKind.TRADES)
    assert (dump.symbol, dump.kind) == ("SOLUSDT", DumpKind.TRADES)


def test_folder_is_replayed_in_date_order(tmp_path: Path) -> None:
    for day in ("2021-01-03", "2021-01-01", "2021-01-02"):
        (tmp_path / f"BTCUSDT-trades-{day}.csv").write_text(TRADE_ROWS)
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "BTCUSDT-trades-2020-12-31.zip").write_bytes(b"")
    (tmp_path / "nested" / "BTCUSDT-trades-2020-12-31.zip.CHECKSUM").write_text("0" * 64)
    (tmp_path / "BTCUSDT-trades-2020-12.csv.zip").write_bytes(b"")  # a monthly file
    (tmp_path / "BTCUSDT-1m-2021-01-01.zip").write_bytes(b"")  # klines: not trades, skipped
    (tmp_path / "ETHUSDT-aggTrades-2021-01-01.zip").write_bytes(b"")
    assert [dump.date for dump in discover(tmp_path, kind=DumpKind.TRADES)] == [
        "2020-12", "2020-12-31", "2021-01-01", "2021-01-02", "2021-01-03"
    ]  # fmt: skip
    assert [(d.symbol, d.kind) for d in discover(tmp_path) if d.date == "2021-01-01"] == [
        ("BTCUSDT", DumpKind.TRADES), ("ETHUSDT", DumpKind.AGG_TRADES)
    ]  # fmt: skip


def test_file_of_another_format_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-trades-2021-01-01.csv"
    path.write_text(
        "1609459200000,28923.63,28961.66,28913.12,28961.66,27.457032,1609459259999,795193.8,1292,16.777195,485910.2,0\n"
    )
    with pytest.raises(DumpFileError, match="12 columns"):
        list(read_blocks(describe(path)))


def test_real_dump_rows_are_read_exactly(real_trade_files: list[Path]) -> None:
    for path in real_trade_files:
        dump = describe(path)
        lines = path.read_text().splitlines()
        ids = np.concatenate(
            [columns_from_block(block, dump.kind)[0].trade_id for block in read_blocks(dump)]
        )
        assert ids.tolist() == [int(line.split(",")[0]) for line in lines]
