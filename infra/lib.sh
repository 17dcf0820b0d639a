# shellcheck shell=bash
# Process helpers shared by infra/kafka/kafka.sh and infra/redis/redis.sh.
# Sourced, not run. The caller sets SERVICE_NAME (the prefix of every message)
# before sourcing; nothing here changes shell options, so `set -euo pipefail`
# in the caller keeps applying.

log()  { printf '%s: %s\n' "$SERVICE_NAME" "$*"; }
warn() { printf '%s: %s\n' "$SERVICE_NAME" "$*" >&2; }
die()  { printf '%s: error: %s\n' "$SERVICE_NAME" "$*" >&2; exit 1; }

is_port_number() { [[ "$1" =~ ^[0-9]+$ ]] && (( $1 > 0 && $1 < 65536 )); }

# True if process $1 exists and is not a zombie (a killed process may
# linger as a zombie until it is reaped).
is_alive() {
    kill -0 "$1" 2>/dev/null || return 1
    [[ "$(ps -p "$1" -o stat= 2>/dev/null)" != Z* ]]
}

# is_service_pid PID PATTERN: true if PID is a live process whose command
# line contains PATTERN (a glob), i.e. really our server, not a reused pid.
is_service_pid() {
    local pid="$1" args
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    is_alive "$pid" || return 1
    args="$(ps -p "$pid" -o args= 2>/dev/null || true)"
    # shellcheck disable=SC2053 # $2 is a glob on purpose
    [[ "$args" == *$2* ]]
}

# pid_from_file PID_FILE PATTERN: prints the pid recorded in PID_FILE if that
# process is still our server; otherwise removes the stale file and fails.
pid_from_file() {
    local pid
    [[ -f "$1" ]] || return 1
    pid="$(tr -dc '0-9' <"$1")"
    if is_service_pid "$pid" "$2"; then
        echo "$pid"
        return 0
    fi
    warn "removing stale pid file (pid ${pid:-?} is not running)"
    rm -f "$1"
    return 1
}

# port_open HOST PORT: bash's /dev/tcp succeeds if something accepts
# connections on host:port.
port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# wait_gone PID SECONDS [POLL]: true once PID has exited, false if it is
# still alive after SECONDS.
wait_gone() {
    local deadline=$((SECONDS + $2))
    while is_alive "$1" && (( SECONDS < deadline )); do
        sleep "${3:-0.2}"
    done
    ! is_alive "$1"
}

# already_running HOST REQUESTED_PORT: true, after saying so, if our server
# runs on the requested port; dies if it runs on another one (starting twice
# is harmless, but never silently on the wrong port). Uses the caller's
# running_pid and running_port.
already_running() {
    local pid port
    pid="$(running_pid)" || return 1
    port="$(running_port)"
    if [[ -n "$port" && "$port" != "$2" ]]; then
        die "already running (pid $pid) on $1:$port, not on the requested port $2; stop it first"
    fi
    log "already running (pid $pid) on $1:${port:-$2}"
}

# print_status HOST DEFAULT_PORT NOT_ANSWERING PROBE...: says whether our
# server runs (exit 0) or not (exit 1); `PROBE... PORT` tells whether it
# answers, NOT_ANSWERING is the note printed when it does not.
print_status() {
    local host="$1" default_port="$2" not_answering="$3" pid port
    shift 3
    if pid="$(running_pid 2>/dev/null)"; then
        port="$(running_port)"
        port="${port:-$default_port}"
        if "$@" "$port"; then
            echo "running (pid $pid) on $host:$port"
        else
            echo "running (pid $pid) on $host:$port ($not_answering)"
        fi
        return 0
    fi
    echo "not running"
    return 1
}

# with_lock LOCK_FILE WAIT_SECONDS COMMAND...: run COMMAND holding the lock
# on fd 9, so two invocations never start or stop the same server at once.
# The lock stays held until the script exits (servers must not inherit fd 9).
with_lock() {
    local lock_file="$1" wait_s="$2"
    shift 2
    mkdir -p "$(dirname "$lock_file")"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$lock_file"
        flock -w "$wait_s" 9 || die "another $SERVICE_NAME.sh is busy (lock $lock_file)"
    fi
    "$@"
}
