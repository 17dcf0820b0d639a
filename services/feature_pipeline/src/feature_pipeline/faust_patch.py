"""The one place the feature pipeline reads faust's internals: how long table recovery has run.

faust 0.15 can wait forever for a changelog partition that delivers nothing during a
rebalance ("No event received for active tp"); a fresh worker recovers it at once. faust
exposes whether it is recovering (``Recovery.in_recovery``) but not since when: it keeps that
in the private ``Recovery._recovery_started_at`` (a ``time.monotonic()`` value).

What this relies on is checked by ``tests/unit/feature_pipeline/test_faust_patch.py`` against
the installed version. The version range below is the one pinned in the service's
``pyproject.toml``; widen both only after the recovery fault tests pass on the new version.
"""

from __future__ import annotations

import time

from faust.tables.recovery import Recovery

PATCHED = "faust Recovery._recovery_started_at (recovery stall watchdog)"
TESTED_VERSIONS = (">=0.15.3", "<0.16")


def recovery_running_for_s(recovery: Recovery) -> float | None:
    """Seconds table recovery has been running, or None when it is not recovering."""
    started = recovery._recovery_started_at  # noqa: SLF001 (faust keeps it private)
    if not recovery.in_recovery or started is None:
        return None
    return time.monotonic() - started
