"""The local stack's process manager: a service that dies is restarted alone; a stop stops all, cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tickcast.stack import describe_exit, duration, split_output

# --- the pure parts ---------------------------------------------------------------------------


def test_a_progress_bar_redrawn_in_place_gives_one_line_per_state():
    lines, rest = split_output(b"", b"start\n 10%|#   |\r 20%|##  |\r 30%")
    assert lines == [b"start", b" 10%|#   |", b" 20%|##  |"]
    assert rest == b" 30%"
    lines, rest = split_output(rest, b"|### |\r\n done\r\n\n")
    assert lines == [b" 30%|### |", b" done"]
    assert rest == b""


def test_exits_are_described_for_people():
    assert describe_exit(1) == "exit 1"
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(-signal.SIGSEGV) == "killed by SIGSEGV"
    assert describe_exit(0) == "exit 0"


def test_durations_read_at_a_glance():
    assert duration(4.25) == "4.2 s"
    assert duration(185) == "3 min 5 s"
    assert duration(7260) == "2 h 1 min"


# --- the stack, running real processes ---------------------------------------------------------

# A service that writes its pid where the test can see it, then runs until told to stop.
SERVICE = """\
import os, signal, sys, time
from pathlib import Path
name = sys.argv[1]
Path(os.environ["OUT"], name).write_text(str(os.getpid()))
print(f"{name} up with TAG={os.environ.get('TAG')}", flush=True)
if len(sys.argv) > 2 and sys.argv[2] == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    time.sleep(0.1)
"""


class RunningStack:
    def __init__(self, root: Path, procfile: str, env: dict[str, str]) -> None:
        (root / "Procfile").write_text(procfile)
        self.root = root
        self.out = root / "out"
        self.out.mkdir()
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tickcast", "stack", str(root / "Procfile"), "--cwd", str(root)],
            cwd=root,
            env={**os.environ, "TICKCAST_HOME": str(root / "home"), "OUT": str(self.out),
                 "RESTART_BASE_DELAY_S": "0.2", "RESTART_JITTER": "0", "STACK_STOP_TIMEOUT_S": "3", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, text: str, timeout: float = 30.0, after: int = 0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                if text in line:
                    return line
            time.sleep(0.05)
        raise AssertionError(f"no line with {text!r}; got:\n" + "\n".join(self.lines))

    def pid_of(self, name: str, other_than: int | None = None, timeout: float = 30.0) -> int:
        """The pid the service wrote itself (a new one after a restart)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            path = self.out / name
            if path.exists() and path.read_text() and int(path.read_text()) != other_than:
                return int(path.read_text())
            time.sleep(0.05)
        raise AssertionError(f"{name} wrote no new pid; output:\n" + "\n".join(self.lines))

    def state(self) -> dict:
        return json.loads((self.root / "home" / "stack" / "services.json").read_text())

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[list[RunningStack]]:
    started: list[RunningStack] = []
    yield started
    for stack in started:
        if stack.process.poll() is None:
            stack.process.kill()
            stack.process.wait()


def start(stacks: list[RunningStack], root: Path, procfile: str, **env: str) -> RunningStack:
    (root / "service.py").write_text(SERVICE)
    stack = RunningStack(root, procfile, env)
    stacks.append(stack)
    return stack


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def free_port() -> int:
    for port in range(29190, 29200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port in 29190-29199")


def test_a_killed_service_is_restarted_alone_and_a_stop_is_clean(stacks: list[RunningStack], tmp_path: Path):
    port = free_port()
    stack = start(
        stacks, tmp_path,
        f"one: TAG=first {sys.executable} service.py one\n"
        f"two: TAG=$SECOND_TAG {sys.executable} service.py two\n",
        SECOND_TAG="second", STACK_METRICS_PORT=str(port),
    )
    stack.wait_for_line("two up with TAG=second")
    stack.wait_for_line("one up with TAG=first")
    one, two = stack.pid_of("one"), stack.pid_of("two")
    # The reported pid is the service's own: the shell was replaced, not kept as a parent.
    assert {name: s["pid"] for name, s in stack.state()["services"].items()} == {"one": one, "two": two}

    os.kill(one, signal.SIGKILL)
    line = stack.wait_for_line("one died")
    assert "killed by SIGKILL" in line and "restarting it in 0.2 s (attempt 1 of 10)" in line
    assert "the other services run on" in line
    new_one = stack.pid_of("one", other_than=one)
    stack.wait_for_line(f"one restarted (pid {new_one})")
    assert alive(two) and stack.pid_of("two") == two
    assert stack.state()["services"]["one"] == {"pid": new_one, "state": "running", "restarts": 1}
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'tickcast_restarts_total{reason="exit -9",service="one"} 1.0' in metrics

    assert stack.stop() == 0
    assert not alive(new_one) and not alive(two)
    stack.wait_for_line("every service stopped")
    assert {s["state"] for s in stack.state()["services"].values()} == {"stopped"}


def test_a_service_that_ignores_sigterm_is_killed_after_the_stop_timeout(stacks: list[RunningStack], tmp_path: Path):
    stack = start(stacks, tmp_path, f"stubborn: {sys.executable} service.py stubborn ignore-term\n")
    pid = stack.pid_of("stubborn")
    stack.wait_for_line("stubborn up")
    assert stack.stop() == 0
    stack.wait_for_line("stubborn still running after 3 s: SIGKILL")
    assert not alive(pid)


def test_a_finished_service_is_not_restarted(stacks: list[RunningStack], tmp_path: Path):
    stack = start(stacks, tmp_path, f"done: {sys.executable} -c 'print(42)'\n"
                                    f"runs: {sys.executable} service.py runs\n")
    stack.wait_for_line("done finished (exit 0)")
    runs = stack.pid_of("runs")
    time.sleep(1.0)
    assert stack.state()["services"]["done"]["state"] == "finished"
    assert alive(runs)
    assert stack.stop() == 0


def test_a_service_failing_too_often_is_given_up(stacks: list[RunningStack], tmp_path: Path):
    stack = start(stacks, tmp_path, f"broken: {sys.executable} -c 'raise SystemExit(3)'\n",
                  RESTART_MAX_ATTEMPTS="2")
    line = stack.wait_for_line("given up")
    assert "broken died (exit 3)" in line and "3 failures in a row" in line
    assert stack.process.wait(timeout=30) == 1  # nothing left running: the stack ends, and says it failed
    assert [line for line in stack.lines if "restarting it in" in line][1].count("attempt 2 of 2") == 1


def test_ctrl_c_stops_every_service_and_is_a_normal_end(stacks: list[RunningStack], tmp_path: Path):
    stack = start(stacks, tmp_path, f"one: {sys.executable} service.py one\n"
                                    f"two: {sys.executable} service.py two\n")
    pids = [stack.pid_of("one"), stack.pid_of("two")]
    stack.wait_for_line("two up")
    stack.wait_for_line("one up")
    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(timeout=30) == 0
    assert not any(alive(pid) for pid in pids)
    assert not [line for line in stack.lines if "died" in line]
