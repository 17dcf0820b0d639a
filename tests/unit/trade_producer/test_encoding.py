"""The bulk JSON encoder writes exactly what ``Trade.to_json_bytes()`` writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tickcast.contracts import MAX_EPOCH_MS, MIN_EPOCH_MS, Trade
from trade_producer.columns import TradeColumns, columns_from_block
from tickcast.binance_files.dump_files import describe, read_blocks
from trade_producer.encoding import encode_trades


def test_every_real_dump_row_encodes_byte_for_byte_like_the_contract(real_trade_files: list[Path]) -> None:
    checked = 0
    for path in real_trade_files:
        dump = describe(path)
        for block in read_blocks(dump):
            columns, rejects = columns_from_block(block, dump.kind)
            assert rejects == []
            encoded = encode_trades(dump.symbol, "replay", columns)
            for row, value in enumerate(encoded):
                reference = columns.trade(row, dump.symbol, "replay")
                assert value == reference.to_json_bytes()
                assert Trade.parse(value) == reference
            checked += len(encoded)
    assert checked == sum(len(path.read_text().splitlines()) for path in real_trade_files)


positive = st.floats(min_value=1e-12, max_value=1e15, allow_nan=False, allow_infinity=False)
row = st.tuples(
    st.integers(min_value=0, max_value=2**62),
    positive,
    positive,
    st.floats(min_value=0, max_value=1e18, allow_nan=False, allow_infinity=False),
    st.integers(min_value=MIN_EPOCH_MS, max_value=MAX_EPOCH_MS - 1),
    st.booleans(),
    st.one_of(st.none(), st.tuples(st.integers(0, 2**40), st.integers(0, 2**20))),
)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=20), aggregate=st.booleans())
def test_random_valid_values_encode_like_the_contract(rows: list[tuple], aggregate: bool) -> None:
    columns = TradeColumns(
        trade_id=np.array([r[0] for r in rows], dtype=np.int64),
        price=np.array([r[1] for r in rows]),
        quantity=np.array([r[2] for r in rows]),
        quote_quantity=np.array([r[3] for r in rows]),
        timestamp_ms=np.array([r[4] for r in rows], dtype=np.int64),
        is_buyer_maker=np.array([r[5] for r in rows], dtype=bool),
        first_trade_id=np.array([(r[6] or (0, 0))[0] for r in rows], dtype=np.int64) if aggregate else None,
        last_trade_id=np.array([sum(r[6] or (0, 0)) for r in rows], dtype=np.int64) if aggregate else None,
    )
    encoded = encode_trades("ETHUSDT", "backfill", columns)
    assert encoded == [columns.trade(i, "ETHUSDT", "backfill").to_json_bytes() for i in range(len(rows))]


def test_the_synthetic_and_live_path_never_import_pandas() -> None:
    """pyarrow imports pandas (seconds) on its first ``pa.scalar``/``pa.array``: the encoder uses neither,
    so a restarted producer starts streaming without paying for it."""
    script = (
        "import sys\n"
        "import numpy as np\n"
        "import trade_producer.__main__\n"
        "from trade_producer.columns import TradeColumns\n"
        "from trade_producer.encoding import encode_trades\n"
        "ids = np.arange(3)\n"
        "for aggregate in (None, ids):\n"
        "    encode_trades('BTCUSDT', 'synthetic', TradeColumns(ids, ids + 1.5, ids + 1.0, ids + 2.0,\n"
        "                  ids + 1_700_000_000_000, ids > 0, aggregate, aggregate))\n"
        "print('pandas' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False", "the producer's synthetic/live path imports pandas again"
