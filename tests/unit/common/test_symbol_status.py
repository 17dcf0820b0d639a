"""The rules of a requested symbol's status record, without a broker."""

from __future__ import annotations

import pytest

from tickcast.contracts import ContractError, SymbolStatus
from tickcast.symbol_progress import SymbolProgress
from tickcast.symbol_status import next_status

T = 1_767_225_600_000


def test_a_progress_report_keeps_when_the_stage_began() -> None:
    first = next_status(None, "SOLUSDT", "backfilling", T, "trade_producer", progress=0.0, source="binance")
    later = next_status(first, "SOLUSDT", "backfilling", T + 5_000, "trade_producer", progress=0.5)
    assert first is not None and later is not None
    assert later.stage_since_ms == T and later.updated_at_ms == T + 5_000
    assert later.progress == 0.5 and later.source == "binance"  # carried over


def test_a_new_stage_starts_its_own_clock_and_carries_the_request_time() -> None:
    requested = next_status(None, "SOLUSDT", "requested", T, "gateway", requested_at_ms=T)
    streaming = next_status(requested, "SOLUSDT", "streaming", T + 9_000, "trade_producer", source="synthetic")
    assert streaming is not None
    assert (streaming.stage_since_ms, streaming.requested_at_ms, streaming.source) == (T + 9_000, T, "synthetic")


def test_a_late_report_of_an_earlier_stage_never_hides_a_later_one() -> None:
    serving = next_status(None, "SOLUSDT", "serving", T, "inference", model="m v1")
    assert next_status(serving, "SOLUSDT", "warming_features", T + 1, "feature_pipeline") is None


def test_a_refusal_ends_the_way_until_the_symbol_is_requested_again() -> None:
    refused = next_status(None, "NOPEUSDT", "refused", T, "trade_producer", detail="not a trading symbol")
    assert refused is not None and refused.detail == "not a trading symbol"
    assert next_status(refused, "NOPEUSDT", "streaming", T + 1, "trade_producer") is None
    again = next_status(refused, "NOPEUSDT", "requested", T + 2, "gateway", requested_at_ms=T + 2)
    assert again is not None and again.stage == "requested" and again.detail == ""


def test_a_report_that_says_nothing_new_writes_nothing() -> None:
    first = next_status(None, "SOLUSDT", "streaming", T, "trade_producer", source="synthetic")
    assert next_status(first, "SOLUSDT", "streaming", T + 60_000, "trade_producer", source="synthetic") is None


def test_the_contract_refuses_a_stage_it_does_not_know_and_a_since_after_the_update() -> None:
    with pytest.raises(ContractError, match="stage"):
        SymbolStatus.parse({"symbol": "SOLUSDT", "stage": "dreaming", "stage_since_ms": T, "updated_at_ms": T,
                            "reported_by": "x"})
    with pytest.raises(ContractError, match="stage_since_ms"):
        SymbolStatus.parse({"symbol": "SOLUSDT", "stage": "serving", "stage_since_ms": T + 1, "updated_at_ms": T,
                            "reported_by": "x"})


def test_progress_forwards_only_what_changed() -> None:
    progress = SymbolProgress(board=None)  # type: ignore[arg-type]  # changes() never touches the board
    batch = [("SOLUSDT", "serving", {"model": "m v1"}), ("BTCUSDT", "serving", {"model": "m v1"})]
    assert len(progress.changes(batch)) == 2
    assert progress.changes(batch) == []
    assert progress.changes([("SOLUSDT", "serving", {"model": "m v2"})]) == [
        ("SOLUSDT", "serving", {"model": "m v2"})]


def test_a_new_request_taken_by_the_producer_starts_afresh_even_after_streaming() -> None:
    streaming = next_status(None, "SOLUSDT", "streaming", T, "trade_producer", source="binance")
    again = next_status(streaming, "SOLUSDT", "validating", T + 1, "trade_producer", requested_at_ms=T + 1)
    assert again is not None and (again.stage, again.stage_since_ms, again.source) == ("validating", T + 1, "unknown")
