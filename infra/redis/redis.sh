#!/usr/bin/env bash
# Local Redis for Tickcast development: our own redis-server process (not the
# system service), bound to 127.0.0.1, state under $TICKCAST_HOME/redis.
#
# Usage: redis.sh install | start | stop | status | restart | logs
#
# Environment:
#   REDIS_PORT            port on 127.0.0.1                  (default 6379)
#   TICKCAST_HOME         state root                         (default <repo>/.local)
#   REDIS_START_TIMEOUT   seconds to wait for PONG           (default 20)
#   REDIS_STOP_TIMEOUT    seconds before SIGKILL on stop     (default 10)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

REDIS_HOST=127.0.0.1
REDIS_PORT="${REDIS_PORT:-6379}"
TICKCAST_HOME="${TICKCAST_HOME:-$REPO_ROOT/.local}"
START_TIMEOUT="${REDIS_START_TIMEOUT:-20}"
STOP_TIMEOUT="${REDIS_STOP_TIMEOUT:-10}"

log()  { printf 'redis: %s\n' "$*"; }
warn() { printf 'redis: %s\n' "$*" >&2; }
die()  { printf 'redis: error: %s\n' "$*" >&2; exit 1; }

if ! [[ "$REDIS_PORT" =~ ^[0-9]+$ ]] || (( REDIS_PORT < 1 || REDIS_PORT > 65535 )); then
    die "REDIS_PORT='$REDIS_PORT' is not a port number"
fi

mkdir -p "$TICKCAST_HOME"
TICKCAST_HOME="$(cd "$TICKCAST_HOME" && pwd)"
STATE_DIR="$TICKCAST_HOME/redis"
DATA_DIR="$STATE_DIR/data"
PID_FILE="$STATE_DIR/redis.pid"
CONF_FILE="$STATE_DIR/redis.conf"
LOG_FILE="$STATE_DIR/redis.log"
LOCK_FILE="$STATE_DIR/.lock"

# ------------------------------------------------------------- install ----

run_as_root() {
    if (( EUID == 0 )); then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (no sudo available)"
    fi
}

cmd_install() {
    if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
        log "$(redis-server --version | cut -d' ' -f1-3) already installed"
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 \
        || die "redis-server not found and apt-get is not available; install Redis (e.g. 'brew install redis') and retry"
    log "installing redis-server with apt-get..."
    run_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    run_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        redis-server redis-tools
    command -v redis-server >/dev/null 2>&1 || die "apt-get finished but redis-server is still not on PATH"
    if [[ -d /run/systemd/system ]]; then
        # On a systemd machine the package also starts the system service on
        # 6379; this script never uses it, but it may take the default port.
        warn "note: the distribution's redis-server service may now be running on port 6379;"
        warn "      use REDIS_PORT=<other port> or stop it (systemctl disable --now redis-server)"
    fi
    log "installed $(redis-server --version | cut -d' ' -f1-3)"
}

# ------------------------------------------------------------- process ----

# True if process $1 exists and is not a zombie (a killed process may
# linger as a zombie until it is reaped).
is_alive() {
    kill -0 "$1" 2>/dev/null || return 1
    [[ "$(ps -p "$1" -o stat= 2>/dev/null)" != Z* ]]
}

is_redis_pid() {
    local pid="$1" args
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    is_alive "$pid" || return 1
    args="$(ps -p "$pid" -o args= 2>/dev/null || true)"
    [[ "$args" == *redis-server* ]]
}

# Prints the pid of our redis-server if it is running; cleans a stale pid file.
running_pid() {
    local pid port
    if [[ -f "$PID_FILE" ]]; then
        pid="$(tr -dc '0-9' <"$PID_FILE")"
        if is_redis_pid "$pid"; then
            echo "$pid"
            return 0
        fi
        warn "removing stale pid file (pid ${pid:-?} is not running)"
        rm -f "$PID_FILE"
    fi
    # Pid file lost while our server still runs? Ask the server itself: it is
    # ours if it was started with our pid file path.
    port="$(running_port)"
    if [[ -n "$port" ]] && command -v redis-cli >/dev/null 2>&1 && ping_ok "$port"; then
        if [[ "$(redis-cli -h "$REDIS_HOST" -p "$port" config get pidfile 2>/dev/null | sed -n 2p)" == "$PID_FILE" ]]; then
            pid="$(redis-cli -h "$REDIS_HOST" -p "$port" info server 2>/dev/null | sed -n 's/^process_id:\([0-9]*\).*/\1/p')"
            if is_redis_pid "$pid"; then
                echo "$pid" >"$PID_FILE"
                echo "$pid"
                return 0
            fi
        fi
    fi
    return 1
}

# The port the running server was started with (from its generated config).
running_port() {
    sed -n 's/^port //p' "$CONF_FILE" 2>/dev/null | head -n 1
}

port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

ping_ok() { # ping_ok PORT
    [[ "$(redis-cli -h "$REDIS_HOST" -p "$1" ping 2>/dev/null)" == PONG ]]
}

with_lock() {
    mkdir -p "$STATE_DIR"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$LOCK_FILE"
        flock -w 60 9 || die "another redis.sh is busy (lock $LOCK_FILE)"
    fi
    "$@"
}

# --------------------------------------------------------------- start ----

write_config() {
    mkdir -p "$DATA_DIR"
    cat >"$CONF_FILE.tmp" <<EOF
# Generated by infra/redis/redis.sh on every start; edit the script instead.
bind $REDIS_HOST
port $REDIS_PORT
protected-mode yes
daemonize yes
supervised no
pidfile "$PID_FILE"
logfile "$LOG_FILE"
loglevel notice
dir "$DATA_DIR"
# Dev cache/state only: no persistence.
save ""
appendonly no
databases 16
EOF
    mv -f "$CONF_FILE.tmp" "$CONF_FILE"
}

do_start() {
    local pid port
    if pid="$(running_pid)"; then
        port="$(running_port)"
        if [[ -n "$port" && "$port" != "$REDIS_PORT" ]]; then
            die "already running (pid $pid) on $REDIS_HOST:$port, not on the requested port $REDIS_PORT; stop it first"
        fi
        log "already running (pid $pid) on $REDIS_HOST:${port:-$REDIS_PORT}"
        return 0
    fi
    command -v redis-server >/dev/null 2>&1 || cmd_install
    if port_open "$REDIS_HOST" "$REDIS_PORT"; then
        die "port $REDIS_HOST:$REDIS_PORT is already in use by another process (set REDIS_PORT)"
    fi
    write_config
    rm -f "$PID_FILE"
    local size=0
    [[ -f "$LOG_FILE" ]] && size="$(wc -c <"$LOG_FILE" | tr -d ' ')"
    # Daemonizes itself (daemonize yes) and writes the pid file.
    if ! redis-server "$CONF_FILE" </dev/null 9>&-; then
        warn "redis-server refused to start; log: $LOG_FILE"
        tail -c +"$((size + 1))" "$LOG_FILE" 2>/dev/null | tail -n 20 >&2 || true
        exit 1
    fi
    local deadline=$((SECONDS + START_TIMEOUT))
    while (( SECONDS < deadline )); do
        if ping_ok "$REDIS_PORT" && pid="$(running_pid 2>/dev/null)"; then
            log "running (pid $pid) on $REDIS_HOST:$REDIS_PORT; data in $DATA_DIR"
            return 0
        fi
        sleep 0.2
    done
    warn "no PONG from $REDIS_HOST:$REDIS_PORT after ${START_TIMEOUT}s; log: $LOG_FILE"
    tail -c +"$((size + 1))" "$LOG_FILE" 2>/dev/null | tail -n 20 >&2 || true
    if pid="$(running_pid 2>/dev/null)"; then
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$PID_FILE"
    fi
    exit 1
}

# ---------------------------------------------------------------- stop ----

wait_gone() { # wait_gone PID SECONDS
    local deadline=$((SECONDS + $2))
    while is_alive "$1" && (( SECONDS < deadline )); do
        sleep 0.2
    done
    ! is_alive "$1"
}

do_stop() {
    local pid port
    if ! pid="$(running_pid)"; then
        log "not running"
        return 0
    fi
    port="$(running_port)"
    log "stopping (pid $pid)..."
    if [[ -n "$port" ]] && command -v redis-cli >/dev/null 2>&1; then
        redis-cli -h "$REDIS_HOST" -p "$port" shutdown nosave >/dev/null 2>&1 || true
    fi
    if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_gone "$pid" 5; then
            warn "still running, sending SIGKILL to $pid"
            kill -KILL "$pid" 2>/dev/null || true
            wait_gone "$pid" 5 || true
        fi
    fi
    rm -f "$PID_FILE"
    log "stopped"
}

# -------------------------------------------------------------- status ----

cmd_status() {
    local pid port
    if pid="$(running_pid 2>/dev/null)"; then
        port="$(running_port)"
        port="${port:-$REDIS_PORT}"
        if ping_ok "$port"; then
            echo "running (pid $pid) on $REDIS_HOST:$port"
        else
            echo "running (pid $pid) on $REDIS_HOST:$port (not answering PING)"
        fi
        return 0
    fi
    echo "not running"
    return 1
}

cmd_logs() {
    [[ -f "$LOG_FILE" ]] || die "no log yet ($LOG_FILE)"
    tail -n "${LOG_LINES:-50}" "$LOG_FILE"
}

usage() {
    cat <<EOF
usage: $(basename "$0") install | start | stop | status | restart | logs

  install   apt-get install redis-server if it is not on PATH
  start     start our own redis-server on $REDIS_HOST:$REDIS_PORT (no persistence)
  stop      shutdown nosave (SIGKILL after ${STOP_TIMEOUT}s)
  status    exit 0 if running, 1 if not
  restart   stop + start
  logs      print the end of the server log

state: $STATE_DIR
EOF
}

case "${1:-}" in
    install) cmd_install ;;
    start)   with_lock do_start ;;
    stop)    with_lock do_stop ;;
    restart) with_lock do_stop; with_lock do_start ;;
    status)  cmd_status ;;
    logs)    cmd_logs ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
esac
