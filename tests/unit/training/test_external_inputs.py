"""What a model trained elsewhere declares about its inputs is checked against the feature set."""

from __future__ import annotations

import pytest

from training.external import DeclaredInputs, ExternalModelMismatch, check_inputs

FEATURES = ["ret_1", "ret_5", "vol_5"]


def test_matching_names_count_and_version_pass() -> None:
    check_inputs("m", DeclaredInputs(list(FEATURES), 3, "fs-1"), FEATURES, "fs-1")
    check_inputs("m", DeclaredInputs(None, 3), FEATURES, "fs-1")  # bare array, right width: order is on the user


def test_names_made_up_by_a_library_are_not_taken_for_columns() -> None:
    check_inputs("m", DeclaredInputs(["Column_0", "Column_1", "Column_2"], 3), FEATURES, "fs-1")
    with pytest.raises(ExternalModelMismatch, match="takes 2 input features"):
        check_inputs("m", DeclaredInputs(["Column_0", "Column_1"], 2), FEATURES, "fs-1")


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        (DeclaredInputs(["ret_1", "ret_5"], 2), r"missing \['vol_5'\], unexpected \[\]"),
        (DeclaredInputs(["ret_1", "ret_5", "rsi_14"], 3), r"missing \['vol_5'\], unexpected \['rsi_14'\]"),
        (DeclaredInputs(["ret_5", "ret_1", "vol_5"], 3), "same names in another order"),
        (DeclaredInputs(list(FEATURES), 3, "fs-0"), "was trained on feature set fs-0; the data is feature set fs-1"),
        (DeclaredInputs(None, 4), "takes 4 input features; the feature set fs-1 \\(3 features"),
    ],
)
def test_a_mismatch_is_refused_with_what_differs(declared: DeclaredInputs, message: str) -> None:
    with pytest.raises(ExternalModelMismatch, match=message):
        check_inputs("mine", declared, FEATURES, "fs-1")
