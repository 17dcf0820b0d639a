"""The shared restart policy: pauses, jitter, giving up, and the reset after a healthy run."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tickcast.supervise import RESTARTS, RestartBudget, RestartPolicy, RestartSettings, supervise, supervise_process

POLICY = RestartPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=5.0, jitter=0.2, healthy_after_s=60.0)


def test_pauses_double_per_failure_up_to_the_cap_without_jitter():
    exact = RestartPolicy(max_attempts=10, base_delay_s=0.5, max_delay_s=5.0, jitter=0.0)
    assert [exact.delay_s(attempt, 0.9) for attempt in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_spreads_the_pause_symmetrically():
    assert POLICY.delay_s(2, 0.0) == pytest.approx(1.6)
    assert POLICY.delay_s(2, 0.5) == pytest.approx(2.0)
    assert POLICY.delay_s(2, 0.999999) == pytest.approx(2.4, abs=1e-5)


@given(attempt=st.integers(1, 200), unit=st.floats(0.0, 1.0, exclude_max=True))
def test_a_pause_is_never_negative_nor_above_the_cap(attempt: int, unit: float):
    assert 0.0 <= POLICY.delay_s(attempt, unit) <= POLICY.max_delay_s


def test_gives_up_after_max_attempts_failures_in_a_row():
    budget = RestartBudget(POLICY)
    decisions = [budget.on_failure(ran_for_s=1.0, unit_random=0.5) for _ in range(5)]
    assert [d.attempt for d in decisions] == [1, 2, 3, 4, 5]
    assert [d.delay_s for d in decisions] == [1.0, 2.0, 4.0, 5.0, None]


def test_a_healthy_run_starts_the_count_again():
    budget = RestartBudget(POLICY)
    for _ in range(4):
        budget.on_failure(ran_for_s=1.0, unit_random=0.5)
    after_healthy = budget.on_failure(ran_for_s=60.0, unit_random=0.5)
    assert (after_healthy.attempt, after_healthy.delay_s) == (1, 1.0)


def test_zero_attempts_means_no_restart():
    assert RestartBudget(RestartPolicy(max_attempts=0)).on_failure(0.0, 0.5).delay_s is None


def test_settings_read_the_restart_variables(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RESTART_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("RESTART_MAX_DELAY_S", "7.5")
    policy = RestartSettings().policy()
    assert (policy.max_attempts, policy.max_delay_s, policy.base_delay_s) == (3, 7.5, 1.0)


def test_supervise_restarts_recoverable_failures_and_counts_them():
    calls: list[int] = []
    pauses: list[float] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("broker away")

    before = RESTARTS.labels("unit-test", "ConnectionError")._value.get()
    supervise("unit-test", flaky, (ConnectionError,), RestartPolicy(max_attempts=5, jitter=0.0), sleep=pauses.append)
    assert len(calls) == 3
    assert pauses == [1.0, 2.0]
    assert RESTARTS.labels("unit-test", "ConnectionError")._value.get() - before == 2


def test_supervise_gives_up_and_raises_the_last_failure():
    def always() -> None:
        raise ConnectionError("still away")

    with pytest.raises(ConnectionError, match="still away"):
        supervise("unit-test", always, (ConnectionError,), RestartPolicy(max_attempts=2), sleep=lambda _: None)


def test_supervise_does_not_restart_what_is_not_recoverable():
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        supervise("unit-test", broken, (ConnectionError,), POLICY, sleep=lambda _: None)
    assert len(calls) == 1


def test_supervise_stops_during_the_pause_when_asked():
    stop = threading.Event()

    def fails_then_asks_to_stop() -> None:
        stop.set()
        raise ConnectionError("broker away")

    with pytest.raises(ConnectionError):  # stop already set when the failure is handled: no restart
        supervise("unit-test", fails_then_asks_to_stop, (ConnectionError,), POLICY, stop=stop)


def test_supervised_process_is_restarted_until_it_exits_zero(tmp_path):
    # A real child process: fails twice (exit 3), then succeeds; counts its runs in a file.
    runs = tmp_path / "runs"
    script = (f"import pathlib, sys; p = pathlib.Path({str(runs)!r}); n = len(p.read_text()) if p.exists() else 0; "
              "p.write_text('x' * (n + 1)); sys.exit(0 if n >= 2 else 3)")
    policy = RestartPolicy(max_attempts=5, base_delay_s=0.05, jitter=0.0)
    assert supervise_process("unit-test", [sys.executable, "-c", script], policy) == 0
    assert runs.read_text() == "xxx"


def test_supervised_process_exit_code_when_it_keeps_failing():
    policy = RestartPolicy(max_attempts=1, base_delay_s=0.05, jitter=0.0)
    assert supervise_process("unit-test", [sys.executable, "-c", "raise SystemExit(4)"], policy) == 4


def _supervisor(tmp_path, child_code: str) -> subprocess.Popen[bytes]:
    """A real supervisor process running a real child that writes its pid and waits."""
    pid_file = tmp_path / "child.pid"
    child = f"import os, pathlib, time; pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid())); {child_code}"
    supervisor = ("import sys; from tickcast.supervise import RestartPolicy, supervise_process; "
                  f"sys.exit(supervise_process('unit-test', [sys.executable, '-c', {child!r}], RestartPolicy()))")
    process = subprocess.Popen([sys.executable, "-c", supervisor])
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()):
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.05)
    process.child_pid = int(pid_file.read_text())  # type: ignore[attr-defined]
    return process


def test_sigterm_is_passed_to_the_child_and_a_clean_stop_exits_zero(tmp_path):
    # The child exits 0 on SIGTERM, as the faust worker does on a normal stop.
    process = _supervisor(tmp_path, "import signal, sys; signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); "
                                    "time.sleep(60)")
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0


def test_the_child_dies_with_a_killed_supervisor(tmp_path):
    process = _supervisor(tmp_path, "time.sleep(60)")
    process.kill()
    process.wait(10)
    deadline = time.monotonic() + 10
    status_file = Path(f"/proc/{process.child_pid}/status")  # type: ignore[attr-defined]
    while True:
        try:
            status = status_file.read_text()
        except FileNotFoundError:
            break  # gone
        if "State:\tZ" in status:
            break  # dead, waiting to be reaped by init
        assert time.monotonic() < deadline, "the worker outlived its killed supervisor"
        time.sleep(0.05)
