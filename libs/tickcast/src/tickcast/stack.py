"""The local stack's process manager (``make up``): every service of a Procfile, restarted alone.

Like honcho (whose Procfile parser and printer it uses), it runs each line of the Procfile as
a process and prints their output interleaved, each line labelled with the time and the
process's name. Unlike honcho, a process that dies does not stop the others: it is restarted
under the shared restart policy (``tickcast.supervise``, ``RESTART_*``), counted in
``tickcast_restarts_total``, and the console says so in one line. A process that keeps failing
is given up after ``RESTART_MAX_ATTEMPTS`` failures in a row; a process that ends with exit
code 0 has finished its work (a replay at full speed) and is not restarted.

SIGINT (Ctrl-C) or SIGTERM (``make down``) stop every process: SIGTERM to each, SIGKILL to
what is left of its process group after ``STACK_STOP_TIMEOUT_S``. A stop asked for is a normal
end: exit code 0.

Each Procfile line is a simple command, optionally after ``NAME=value`` assignments, with
``$VARIABLES`` expanded by ``/bin/sh``; it replaces the shell (``exec``), so the pid the stack
reports (``$TICKCAST_HOME/stack/services.json``, ``make status``) is the service's own.
"""

from __future__ import annotations

import datetime
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from honcho.colour import get_colours
from honcho.environ import parse_procfile
from honcho.printer import Message, Printer
from prometheus_client import start_http_server
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from tickcast.supervise import RESTARTS, RestartBudget, RestartSettings

STACK_NAME = "stack"

State = Literal["starting", "running", "waiting", "finished", "given up", "stopped"]


class StackSettings(BaseSettings):
    """``STACK_*``: the local stack's process manager."""

    model_config = SettingsConfigDict(env_prefix="STACK_", env_file=".env", extra="ignore")

    stop_timeout_s: float = Field(20.0, gt=0, description="How long a stopping service may take before SIGKILL.")
    metrics_port: int = Field(
        0, ge=0, description="Port of the stack's own /metrics (tickcast_restarts_total); 0 disables it."
    )
    state_dir: Path | None = Field(
        None, description="Where services.json (pids, restarts) is written; default $TICKCAST_HOME/stack."
    )


def describe_exit(code: int) -> str:
    """How a process ended, for people: 'exit 1', 'killed by SIGKILL'."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def duration(seconds: float) -> str:
    """'4.2 s', '3 min 5 s', '2 h 1 min': a run's length at a glance."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def split_output(pending: bytes, chunk: bytes) -> tuple[list[bytes], bytes]:
    """Complete lines in ``pending + chunk`` and the unfinished rest.

    A carriage return ends a line too: a progress bar redrawn in place shows each state as it
    comes, instead of one line of every state at the end.
    """
    data = (pending + chunk).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    *lines, rest = data.split(b"\n")
    return [line for line in lines if line.strip()], rest


@dataclass
class Service:
    name: str
    command: str
    colour: str
    budget: RestartBudget
    process: subprocess.Popen[bytes] | None = None
    state: State = "starting"
    started_at: float = 0.0
    restart_at: float | None = None
    restarts: int = 0


@dataclass(frozen=True)
class Event:
    kind: Literal["line", "exit"]
    service: str
    data: bytes = b""
    code: int = 0
    process: subprocess.Popen[bytes] | None = None


class Stack:
    """Runs the services of a Procfile until asked to stop; see the module's docstring."""

    def __init__(self, procfile: Path, cwd: Path, settings: StackSettings, output: IO[str] = sys.stdout) -> None:
        self._cwd = cwd
        self._settings = settings
        policy = RestartSettings().policy()
        colours = get_colours()
        self.services = {
            name: Service(name, command, next(colours), RestartBudget(policy))
            for name, command in parse_procfile(procfile.read_text()).processes.items()
        }
        self._policy = policy
        self._printer = Printer(output, width=max([len(STACK_NAME), *map(len, self.services)]))
        self._events: queue.Queue[Event] = queue.Queue()
        self._stopping = threading.Event()
        home = Path(os.environ.get("TICKCAST_HOME", cwd / ".local"))
        self._state_file = (settings.state_dir or home / "stack") / "services.json"

    # --- running ---------------------------------------------------------------------------

    def run(self) -> int:
        """Until every service has stopped; 0 after a normal stop, 1 if a service was given up."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        if self._settings.metrics_port:
            start_http_server(self._settings.metrics_port, addr="127.0.0.1")
        for service in self.services.values():
            self._start(service)
        while True:
            if self._stopping.is_set():
                return self._stop_all()
            try:
                event = self._events.get(timeout=0.2)
            except queue.Empty:
                event = None
            if event is not None:
                self._handle(event)
            self._restart_due()
            if all(s.state in ("finished", "given up") for s in self.services.values()):
                return 1 if any(s.state == "given up" for s in self.services.values()) else 0

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._stopping.set()

    def _start(self, service: Service) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # `exec env`: the command (and its NAME=value prefix) replaces the shell, keeping its pid.
        process = subprocess.Popen(
            ["/bin/sh", "-c", f"exec env {service.command}"],
            cwd=self._cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the stack only; it stops each service in turn
        )
        restarted = service.state == "waiting"
        service.process, service.state, service.started_at = process, "running", time.monotonic()
        service.restart_at = None
        self.say(f"{service.name} {'restarted' if restarted else 'started'} (pid {process.pid})")
        self._write_state()
        threading.Thread(target=self._pump, args=(service.name, process), daemon=True,
                         name=f"output-{service.name}").start()

    def _pump(self, name: str, process: subprocess.Popen[bytes]) -> None:
        """Forward one process's output, line by line, then its exit."""
        assert process.stdout is not None
        pending = b""
        fd = process.stdout.fileno()
        while chunk := os.read(fd, 65536):
            lines, pending = split_output(pending, chunk)
            for line in lines:
                self._events.put(Event("line", name, line))
        if pending.strip():
            self._events.put(Event("line", name, pending))
        process.stdout.close()
        self._events.put(Event("exit", name, code=process.wait(), process=process))

    def _handle(self, event: Event) -> None:
        service = self.services[event.service]
        if event.kind == "line":
            self._print(service.name, service.colour, event.data)
            return
        if event.process is not service.process:
            return
        self._kill_group(event.process, signal.SIGKILL)  # nothing of the old run may linger
        ran_s = time.monotonic() - service.started_at
        if self._stopping.is_set():
            service.state = "stopped"
            asked = event.code in (0, -signal.SIGTERM, -signal.SIGINT)
            self.say(f"{service.name} stopped" + ("" if asked else f" ({describe_exit(event.code)})"))
        elif event.code == 0:
            service.state = "finished"
            self.say(f"{service.name} finished (exit 0) after {duration(ran_s)}; not restarted, "
                     "the other services run on")
        else:
            decision = service.budget.on_failure(ran_s, random.random())
            how = describe_exit(event.code)
            if decision.delay_s is None:
                service.state = "given up"
                self.say(f"{service.name} died ({how}) after {duration(ran_s)}, {decision.attempt} "
                         f"failures in a row: given up (RESTART_MAX_ATTEMPTS={self._policy.max_attempts}); "
                         "the other services run on")
            else:
                service.state = "waiting"
                service.restarts += 1
                service.restart_at = time.monotonic() + decision.delay_s
                RESTARTS.labels(service.name, f"exit {event.code}").inc()
                self.say(f"{service.name} died ({how}) after {duration(ran_s)}; restarting it in "
                         f"{decision.delay_s:.1f} s (attempt {decision.attempt} of {self._policy.max_attempts}); "
                         "the other services run on")
        self._write_state()

    def _restart_due(self) -> None:
        now = time.monotonic()
        for service in self.services.values():
            if service.state == "waiting" and service.restart_at is not None and now >= service.restart_at:
                self._start(service)

    # --- stopping --------------------------------------------------------------------------

    def _stop_all(self) -> int:
        running = [s for s in self.services.values() if s.state == "running" and s.process is not None]
        self.say(f"stopping {len(running)} service(s)")
        for service in self.services.values():
            if service.state == "waiting":
                service.state = "stopped"
        for service in running:
            assert service.process is not None
            _signal(service.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self._settings.stop_timeout_s
        while any(s.state == "running" for s in running):
            try:
                event = self._events.get(timeout=max(0.0, min(0.2, deadline - time.monotonic())))
                self._handle(event)
            except queue.Empty:
                pass
            if time.monotonic() >= deadline:
                for service in running:
                    if service.state == "running" and service.process is not None:
                        self.say(f"{service.name} still running after {self._settings.stop_timeout_s:g} s: "
                                 "SIGKILL")
                        self._kill_group(service.process, signal.SIGKILL)
                deadline = float("inf")
        self.say("every service stopped")
        self._write_state()
        return 0

    @staticmethod
    def _kill_group(process: subprocess.Popen[bytes], signum: int) -> None:
        try:
            os.killpg(process.pid, signum)  # its own session: the group is the service and its children
        except (ProcessLookupError, PermissionError):
            pass

    # --- output ----------------------------------------------------------------------------

    def say(self, text: str) -> None:
        """One line of the stack's own, labelled like the services' lines."""
        self._print(STACK_NAME, None, text.encode())

    def _print(self, name: str, colour: str | None, data: bytes) -> None:
        try:
            self._printer.write(Message("line", data, datetime.datetime.now(), name, colour))
        except (BrokenPipeError, ValueError):
            pass  # whoever read our output has gone; the services run on

    def _write_state(self) -> None:
        """Who runs with which pid, for ``make status`` and for tests."""
        state = {
            "stack_pid": os.getpid(),
            "services": {
                s.name: {"pid": s.process.pid if s.process else None, "state": s.state, "restarts": s.restarts}
                for s in self.services.values()
            },
        }
        self._state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2))
        temporary.replace(self._state_file)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
