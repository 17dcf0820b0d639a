#!/usr/bin/env bash
# Installs everything Tickcast needs on a plain Debian/Ubuntu machine, idempotently:
# uv and the Python environment, Kafka's jars (through Maven), redis-server, and, for the
# browser test and dashboard, Chromium and the dashboard's npm build.
#
#   infra/install.sh            everything
#   infra/install.sh python     only uv + the Python environment
#   infra/install.sh bench      the benchmarks' extra tools (wrk)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root (or sudo) for: $*" >&2; return 1; fi
}

APT_UPDATED=""
apt_install() {
  command -v apt-get >/dev/null || { echo "apt-get not found: install $* by hand" >&2; return 1; }
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

install_python() {
  if ! command -v uv >/dev/null; then
    say "installing uv (from PyPI)"
    python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
    export PATH="$HOME/.local/bin:$PATH"
  fi
  say "syncing the Python environment (uv sync --frozen --compile-bytecode)"
  # Bytecode written once here: where PYTHONDONTWRITEBYTECODE is set (CI images often set it) every
  # process, pytest and each service a test starts, would otherwise compile TensorFlow, MLflow and the
  # rest from source on every import (pytest's collection alone: ~85 s instead of ~25 s on 2 cores).
  # A later sync with nothing new is quick. The workspace's own packages are editable: compiled too.
  uv sync --frozen --quiet --compile-bytecode
  uv run --frozen python -m compileall -q -j 0 libs services tests >/dev/null
}

install_kafka() {
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
  say "resolving Apache Kafka from Maven Central"
  bash infra/kafka/kafka.sh install
}

install_redis() {
  say "checking redis-server"
  bash infra/redis/redis.sh install
}

install_browser() {
  # Debian's Chromium drives the dashboard's browser test; never a downloaded browser build.
  if ! command -v chromium >/dev/null; then
    say "installing chromium (Debian package) for the dashboard test"
    apt_install chromium fonts-liberation || echo "chromium not installed: the browser test will be skipped" >&2
  fi
}

install_frontend() {
  if [ -f services/gateway/frontend/build.sh ]; then
    if command -v npm >/dev/null; then
      say "building the dashboard's frontend (npm ci)"
      bash services/gateway/frontend/build.sh
    else
      echo "npm not found: the dashboard will explain how to build its chart bundle" >&2
    fi
  fi
}

install_bench_tools() {
  # wrk drives the gateway's HTTP benchmark (loopback only).
  command -v wrk >/dev/null || { say "installing wrk (Debian package) for the benchmarks"; apt_install wrk; }
}

case "${1:-all}" in
  python) install_python ;;
  infra) install_kafka; install_redis ;;
  all) install_python; install_kafka; install_redis; install_browser; install_frontend ;;
  bench) install_bench_tools ;;
  *) echo "usage: $0 [all|python|infra|bench]" >&2; exit 2 ;;
esac
