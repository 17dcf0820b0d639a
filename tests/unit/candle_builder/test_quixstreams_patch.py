"""Canary of candle_builder.quixstreams_patch: fails loudly when quixstreams changes what it relies on."""

from __future__ import annotations

from quixstreams.checkpointing import Checkpoint
from quixstreams.processing import ProcessingContext
from quixstreams.state import StateStoreManager

from candle_builder.quixstreams_patch import PATCHED, TESTED_VERSIONS, run_before_each_commit
from support.library_patch import assert_parameters, assert_version_pinned


def test_quixstreams_version_is_the_tested_one() -> None:
    assert_version_pinned(PATCHED, "quixstreams", TESTED_VERSIONS, "candle_builder")


def test_what_the_patch_relies_on_is_still_there() -> None:
    assert_parameters(PATCHED, ProcessingContext.commit_checkpoint, ["self", "force", "revoking"])
    assert isinstance(inspect_attribute(ProcessingContext, "checkpoint"), property), (
        f"{PATCHED}: ProcessingContext.checkpoint is no longer a property"
    )
    assert_parameters(PATCHED, Checkpoint.expired, ["self"])
    assert_parameters(PATCHED, Checkpoint.get_store_transaction, ["self", "stream_id", "partition"])
    assert_parameters(PATCHED, StateStoreManager.get_store, ["self", "stream_id"])


class _Checkpoint:
    def __init__(self) -> None:
        self.is_expired = False

    def expired(self) -> bool:
        return self.is_expired


class _Context:
    """Stands in for a ProcessingContext: the hook only uses ``checkpoint`` and ``commit_checkpoint``."""

    def __init__(self) -> None:
        self.checkpoint = _Checkpoint()
        self.commits: list[tuple[bool, bool]] = []

    def commit_checkpoint(self, force: bool = False, revoking: bool = False) -> None:
        self.commits.append((force, revoking))


def test_the_hook_runs_before_every_commit_and_only_then() -> None:
    context, calls = _Context(), []
    run_before_each_commit(context, lambda: calls.append(list(context.commits)))  # type: ignore[arg-type]
    context.commit_checkpoint()  # not expired: nothing commits, nothing is saved
    assert calls == [] and context.commits == []
    context.checkpoint.is_expired = True
    context.commit_checkpoint()
    context.commit_checkpoint(force=True, revoking=True)
    assert calls == [[], [(True, False)]]  # each save saw the commits before it, not its own
    assert context.commits == [(True, False), (True, True)]


def inspect_attribute(owner: type, name: str) -> object:
    return next(vars(klass)[name] for klass in owner.__mro__ if name in vars(klass))
