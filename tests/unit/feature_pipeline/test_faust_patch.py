"""Canary of feature_pipeline.faust_patch: fails loudly when faust changes what it relies on."""

from __future__ import annotations

import inspect
import time
from types import SimpleNamespace

from faust.tables.recovery import Recovery

from feature_pipeline.faust_patch import PATCHED, TESTED_VERSIONS, recovery_running_for_s
from support.library_patch import assert_version_pinned


def test_faust_version_is_the_tested_one() -> None:
    assert_version_pinned(PATCHED, "faust-streaming", TESTED_VERSIONS, "feature_pipeline")


def test_recovery_still_records_when_it_started() -> None:
    assert "in_recovery" in Recovery.__annotations__, f"{PATCHED}: Recovery.in_recovery is gone"
    assert "_recovery_started_at" in Recovery.__annotations__, (
        f"{PATCHED}: Recovery._recovery_started_at is gone"
    )
    source = inspect.getsource(Recovery)
    assert "self._recovery_started_at = monotonic()" in source, (
        f"{PATCHED}: Recovery no longer sets _recovery_started_at from time.monotonic()"
    )


def test_running_time_only_while_recovering() -> None:
    started = time.monotonic() - 30
    assert recovery_running_for_s(SimpleNamespace(in_recovery=False, _recovery_started_at=started)) is None
    assert recovery_running_for_s(SimpleNamespace(in_recovery=True, _recovery_started_at=None)) is None
    running = recovery_running_for_s(SimpleNamespace(in_recovery=True, _recovery_started_at=started))
    assert running is not None and running >= 30
