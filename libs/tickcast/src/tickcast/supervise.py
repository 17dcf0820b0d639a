"""Restart supervision shared by every streaming service: one policy, one log line, one metric.

A streaming service that loses its broker (a restart, a network cut) fails in ways its client
library does not always ride out. Every service commits its progress to Kafka before it counts as
done, so the cure is the same everywhere: start the work again from the last commit, after a
pause that grows with each failure in a row, and give up (exit non-zero, for the process manager
to see) only when the failures keep coming. A run that stayed healthy long enough is a fresh start.

``RestartPolicy`` and ``RestartBudget`` are the decisions (no clock, no randomness of their own:
both are passed in); ``supervise`` runs a callable under them, ``supervise_process`` runs a child
process under them.
"""

from __future__ import annotations

import ctypes
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType

import structlog
from prometheus_client import Counter
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

log = structlog.get_logger(__name__)

PR_SET_PDEATHSIG = 1  # linux/prctl.h

RESTARTS = Counter(
    "tickcast_restarts_total",
    "Stream restarts after a failure (e.g. a broker restart), by service and reason.",
    ["service", "reason"],
)


class RestartSettings(BaseSettings):
    """Restart policy knobs, shared by every service (``RESTART_*``)."""

    model_config = SettingsConfigDict(env_prefix="RESTART_", env_file=".env", extra="ignore")

    max_attempts: int = Field(
        10, ge=0, description="Failures in a row recovered by restarting before the service exits non-zero."
    )
    base_delay_s: float = Field(1.0, ge=0, description="Pause before the first restart; doubles per failure in a row.")
    max_delay_s: float = Field(30.0, ge=0, description="Longest pause between restarts.")
    jitter: float = Field(
        0.2, ge=0, le=1, description="Pauses vary by up to this fraction, so replicas do not restart in step."
    )
    healthy_after_s: float = Field(
        60.0, gt=0, description="A run that lasted this long resets the count of failures in a row."
    )

    def policy(self) -> RestartPolicy:
        return RestartPolicy(self.max_attempts, self.base_delay_s, self.max_delay_s, self.jitter,
                             self.healthy_after_s)


@dataclass(frozen=True)
class RestartPolicy:
    max_attempts: int = 10
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    jitter: float = 0.2
    healthy_after_s: float = 60.0

    def delay_s(self, attempt: int, unit_random: float) -> float:
        """Pause before restart number ``attempt`` (1-based); ``unit_random`` in [0, 1) picks the jitter."""
        nominal = min(self.base_delay_s * 2.0 ** (attempt - 1), self.max_delay_s)
        # Symmetric jitter around the nominal pause, never above the cap.
        return min(nominal * (1.0 + self.jitter * (2.0 * unit_random - 1.0)), self.max_delay_s)


@dataclass(frozen=True)
class Decision:
    attempt: int  # failures in a row, this one included
    delay_s: float | None  # None: give up


class RestartBudget:
    """Counts failures in a row; decides, after each, whether to restart and after how long."""

    def __init__(self, policy: RestartPolicy) -> None:
        self.policy = policy
        self.attempts = 0

    def on_failure(self, ran_for_s: float, unit_random: float) -> Decision:
        if ran_for_s >= self.policy.healthy_after_s:
            self.attempts = 0  # it worked for a good while: this is a new incident
        self.attempts += 1
        if self.attempts > self.policy.max_attempts:
            return Decision(self.attempts, None)
        return Decision(self.attempts, self.policy.delay_s(self.attempts, unit_random))


def reason_of(error: BaseException) -> str:
    """A short, bounded label for the metric: the exception's class name."""
    return type(error).__name__


def supervise(
    service: str,
    run: Callable[[], None],
    recoverable: tuple[type[BaseException], ...],
    policy: RestartPolicy,
    stop: threading.Event | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Call ``run`` until it returns (a normal stop); restart it after a ``recoverable`` failure.

    ``run`` must resume from committed state on each call (a fresh client, a fresh application).
    Anything not recoverable, or one failure too many in a row, propagates.
    """
    budget = RestartBudget(policy)
    while True:
        started = time.monotonic()
        try:
            run()
            return
        except recoverable as error:
            decision = budget.on_failure(time.monotonic() - started, random.random())
            if decision.delay_s is None or (stop is not None and stop.is_set()):
                log.error("stream failed; giving up", service=service, error=repr(error),
                          attempt=decision.attempt, max_attempts=policy.max_attempts)
                raise
            RESTARTS.labels(service, reason_of(error)).inc()
            log.warning("stream failed; restarting from the last commit", service=service, error=repr(error),
                        reason=reason_of(error), attempt=decision.attempt, max_attempts=policy.max_attempts,
                        pause_s=round(decision.delay_s, 2), ran_s=round(time.monotonic() - started, 1))
            if stop is not None:
                if stop.wait(decision.delay_s):
                    return  # asked to stop during the pause
            else:
                sleep(decision.delay_s)


def supervise_process(service: str, command: Sequence[str], policy: RestartPolicy,
                      env: Mapping[str, str] | None = None) -> int:
    """Run ``command`` as a child process; restart it when it exits non-zero. Returns the exit code.

    SIGTERM and SIGINT are forwarded to the child, and the child's exit after a forwarded signal
    ends the supervision with the child's code (0 for a clean stop). The child dies with the
    supervisor (even a SIGKILL of it), so killing the service kills its worker too.
    """
    stopping = threading.Event()
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _frame: FrameType | None) -> None:
        stopping.set()
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    previous = {signum: signal.signal(signum, forward) for signum in (signal.SIGTERM, signal.SIGINT)}
    budget = RestartBudget(policy)
    try:
        while True:
            started = time.monotonic()
            child = subprocess.Popen(list(command), env=env, preexec_fn=_die_with_parent)
            log.info("worker started", service=service, pid=child.pid)
            code = child.wait()
            if stopping.is_set() or code == 0:
                return 0 if stopping.is_set() and code in (0, -signal.SIGTERM, -signal.SIGINT) else code
            reason = f"exit {code}"
            decision = budget.on_failure(time.monotonic() - started, random.random())
            if decision.delay_s is None:
                log.error("worker failed; giving up", service=service, exit_code=code,
                          attempt=decision.attempt, max_attempts=policy.max_attempts)
                return code
            RESTARTS.labels(service, reason).inc()
            log.warning("worker failed; restarting from the last commit", service=service, exit_code=code,
                        reason=reason, attempt=decision.attempt, max_attempts=policy.max_attempts,
                        pause_s=round(decision.delay_s, 2), ran_s=round(time.monotonic() - started, 1))
            if stopping.wait(decision.delay_s):
                return 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGKILL it when the supervisor dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the child outlives a killed supervisor
        pass


def python_module_command(module: str, *args: str) -> list[str]:
    """``python -m <module> <args>`` with this interpreter."""
    return [sys.executable, "-m", module, *args]
