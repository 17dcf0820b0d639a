"""High-water marks: ids at or below the last produced one are duplicates."""

from __future__ import annotations

import numpy as np

from trade_producer.dedupe import HighWaterMarks, id_space


def test_single_trades_are_admitted_once_and_in_increasing_order() -> None:
    marks = HighWaterMarks({id_space("BTCUSDT", False): 10})
    space = id_space("BTCUSDT", False)
    assert [marks.admit(space, trade_id) for trade_id in (9, 10, 11, 11, 12, 5)] == [
        False, False, True, False, True, False
    ]  # fmt: skip
    assert marks.get(space) == 12


def test_symbols_and_aggregate_ids_are_separate_sequences() -> None:
    marks = HighWaterMarks()
    assert marks.admit(id_space("BTCUSDT", False), 100)
    assert marks.admit(id_space("ETHUSDT", False), 1)
    assert marks.admit(id_space("BTCUSDT", True), 1)
    assert not marks.admit(id_space("BTCUSDT", False), 100)


def test_a_block_keeps_only_ids_above_the_mark_and_every_earlier_id() -> None:
    space = id_space("BTCUSDT", False)
    marks = HighWaterMarks({space: 5})
    mask = marks.admit_many(space, np.array([4, 5, 6, 7, 7, 6, 8], dtype=np.int64))
    assert mask.tolist() == [False, False, True, True, False, False, True]
    assert marks.get(space) == 8
    assert marks.admit_many(space, np.array([1, 8], dtype=np.int64)).tolist() == [False, False]
    assert marks.admit_many(space, np.array([], dtype=np.int64)).tolist() == []
