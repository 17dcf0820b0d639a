"""Run every benchmark in bench/ against a real broker and Redis; write bench/results.md.

    uv run python bench/run_all.py [--only candle_builder,gateway]

The broker and Redis are the ones named by KAFKA_BOOTSTRAP_SERVERS / REDIS_URL, or else
the project's local ones, started on benchmark ports under .local/bench so that a
running `make up` stack is left alone. Each benchmark prints its own figures as ratios
against a reference measured side by side in the same run; this script only gathers
them, with the machine and the date, into one report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_HOME = ROOT / ".local" / "bench"
KAFKA_PORT, REDIS_PORT = "39092", "36379"
# Arguments for the benchmarks that need some; the others run with their defaults.
ARGUMENTS = {"training": ["klines"]}


def infra(script: str, action: str, **env: str) -> None:
    environment = {**os.environ, "TICKCAST_HOME": str(BENCH_HOME), **env}
    subprocess.run(["bash", str(ROOT / script), action], check=True, env=environment)


def machine() -> str:
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )
    return f"{os.cpu_count()} cores ({cpu}), {memory_kb / 2**20:.0f} GiB, {platform.platform()}, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated benchmark names (e.g. candle_builder,gateway)")
    args = parser.parse_args()
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}

    scripts = sorted(path for path in (ROOT / "bench").glob("bench_*.py"))
    if wanted:
        scripts = [path for path in scripts if path.stem.removeprefix("bench_") in wanted]

    env = dict(os.environ)
    started_local = "KAFKA_BOOTSTRAP_SERVERS" not in os.environ
    if started_local:
        infra("infra/kafka/kafka.sh", "start", KAFKA_PORT=KAFKA_PORT, KAFKA_CONTROLLER_PORT=str(int(KAFKA_PORT) + 1))
        infra("infra/redis/redis.sh", "start", REDIS_PORT=REDIS_PORT)
        env |= {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{KAFKA_PORT}", "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0"}

    sections = []
    failures = 0
    try:
        for script in scripts:
            print(f"==> {script.name}", file=sys.stderr, flush=True)
            started = time.monotonic()
            # Every benchmark reads KAFKA_BOOTSTRAP_SERVERS and REDIS_URL from the environment.
            arguments = ARGUMENTS.get(script.stem.removeprefix("bench_"), [])
            result = subprocess.run(
                [sys.executable, str(script), *arguments], cwd=ROOT, env=env, capture_output=True, text=True
            )
            elapsed = time.monotonic() - started
            sys.stderr.write(result.stderr[-2000:])
            print(result.stdout, flush=True)
            status = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
            failures += result.returncode != 0
            body = result.stdout.strip() or "(no output)"
            if result.returncode:
                body += "\n\n```\n" + result.stderr[-3000:] + "\n```"
            sections.append(f"## {script.stem.removeprefix('bench_')} ({status}, {elapsed:.0f} s)\n\n{body}\n")
    finally:
        if started_local:
            infra("infra/kafka/kafka.sh", "stop", KAFKA_PORT=KAFKA_PORT, KAFKA_CONTROLLER_PORT=str(int(KAFKA_PORT) + 1))
            infra("infra/redis/redis.sh", "stop", REDIS_PORT=REDIS_PORT)

    header = (
        "# Tickcast benchmark results\n\n"
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC}\n"
        f"- machine: {machine()}\n"
        f"- command: `make bench` (`uv run python bench/run_all.py`)\n\n"
        "Figures are ratios against a reference measured side by side in the same run: the machine is "
        "shared and noisy, so absolute numbers move between runs while the ratios hold.\n\n"
    )
    (ROOT / "bench" / "results.md").write_text(header + "\n".join(sections))
    print(f"wrote {ROOT / 'bench' / 'results.md'}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
