"""The one place the candle builder reaches into quixstreams' internals: a pre-commit hook.

quixstreams has no hook that runs before a checkpoint commits, and the candle builder must
write its in-memory windows into the checkpoint's state transaction right then (see
:mod:`candle_builder.stream`). :func:`run_before_each_commit` replaces the instance
attribute ``ProcessingContext.commit_checkpoint``, the one function every checkpoint commit
goes through (periodic, forced, on partition revoke, at shutdown).

What this relies on, checked by ``tests/unit/candle_builder/test_quixstreams_patch.py``
against the installed version: ``ProcessingContext.commit_checkpoint(force, revoking)`` and
``ProcessingContext.checkpoint``, ``Checkpoint.expired()``. The version range below is the one
pinned in the service's ``pyproject.toml``; widen both only after the restart and exactly-once
tests pass on the new version.
"""

from __future__ import annotations

from collections.abc import Callable

from quixstreams.processing import ProcessingContext

PATCHED = "quixstreams ProcessingContext.commit_checkpoint (pre-commit hook)"
TESTED_VERSIONS = (">=3.28", "<3.29")


def run_before_each_commit(context: ProcessingContext, before_commit: Callable[[], None]) -> None:
    """Call ``before_commit`` right before every checkpoint commit of ``context``, never otherwise."""
    commit = context.commit_checkpoint

    def commit_after_hook(force: bool = False, revoking: bool = False) -> None:
        # Decide once: a checkpoint that expires between two checks must not commit unsaved.
        if not (force or context.checkpoint.expired()):
            return
        before_commit()
        commit(force=True, revoking=revoking)

    context.commit_checkpoint = commit_after_hook  # type: ignore[method-assign]
