#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft: broker + controller in one JVM) for
# Tickcast development, without Docker. The jars come from Maven Central via
# pom.xml next to this script.
#
# Usage: kafka.sh install | start | stop | status | restart | logs [-f]
#
# Environment:
#   KAFKA_PORT             broker port on 127.0.0.1        (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port           (default 9093)
#   TICKCAST_HOME          state root                      (default <repo>/.local)
#                          data: $TICKCAST_HOME/kafka/data, logs: $TICKCAST_HOME/kafka/logs
#   KAFKA_HEAP_OPTS        JVM heap flags                  (default -Xms256m -Xmx1g)
#   KAFKA_JVM_OPTS         extra JVM flags for the broker
#   KAFKA_START_TIMEOUT    seconds to wait for readiness   (default 60)
#   KAFKA_STOP_TIMEOUT     seconds before SIGKILL on stop  (default 30)
#   JAVA_HOME              Java 17+ to use (default: java on PATH)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
SERVICE_NAME=kafka
# shellcheck source=SCRIPTDIR/../lib.sh
source "$SCRIPT_DIR/../lib.sh"

KAFKA_HOST=127.0.0.1
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
TICKCAST_HOME="${TICKCAST_HOME:-$REPO_ROOT/.local}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
NODE_ID=1

LIB_DIR="$SCRIPT_DIR/.build/lib"
INSTALL_STAMP="$LIB_DIR/.installed"
POM="$SCRIPT_DIR/pom.xml"
TEMPLATE="$SCRIPT_DIR/server.properties.template"
SERVER_LOG4J="$SCRIPT_DIR/log4j2.properties"
TOOLS_LOG4J="$SCRIPT_DIR/tools-log4j2.properties"

is_port_number "$KAFKA_PORT" || die "KAFKA_PORT='$KAFKA_PORT' is not a port number"
is_port_number "$KAFKA_CONTROLLER_PORT" || die "KAFKA_CONTROLLER_PORT='$KAFKA_CONTROLLER_PORT' is not a port number"
[[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"

# Absolute state paths (TICKCAST_HOME may be given relative to the caller's cwd).
mkdir -p "$TICKCAST_HOME"
TICKCAST_HOME="$(cd "$TICKCAST_HOME" && pwd)"
STATE_DIR="$TICKCAST_HOME/kafka"
DATA_DIR="$STATE_DIR/data"
LOG_DIR="$STATE_DIR/logs"
PID_FILE="$STATE_DIR/kafka.pid"
CONF_FILE="$STATE_DIR/server.properties"
# Written only after a successful storage format; must match meta.properties.
CLUSTER_ID_FILE="$STATE_DIR/cluster.id"
LOCK_FILE="$STATE_DIR/.lock"
CONSOLE_LOG="$LOG_DIR/kafka.out"
SERVER_LOG="$LOG_DIR/server.log"

kafka_version() {
    sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n 1
}

# ---------------------------------------------------------------- java ----

JAVA_BIN=""
find_java() {
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
        JAVA_BIN="$JAVA_HOME/bin/java"
    elif command -v java >/dev/null 2>&1; then
        JAVA_BIN="$(command -v java)"
    else
        die "java not found (Kafka 4 needs Java 17+; e.g. apt-get install -y openjdk-17-jre-headless)"
    fi
    local ver major
    ver="$("$JAVA_BIN" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)"
    major="${ver%%.*}"
    [[ "$major" == 1 ]] && major="$(cut -d. -f2 <<<"$ver")"
    if [[ "$major" =~ ^[0-9]+$ ]] && (( major < 17 )); then
        die "Java $ver at $JAVA_BIN is too old; Kafka $(kafka_version) needs Java 17+"
    fi
}

# Run a Kafka command line tool (quiet logging, small heap, fast start).
kafka_tool() {
    local main="$1"; shift
    "$JAVA_BIN" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Dlog4j2.configurationFile="$TOOLS_LOG4J" \
        -cp "$LIB_DIR/*" "$main" "$@"
}

# ------------------------------------------------------------- install ----

pom_fingerprint() {
    { kafka_version; cksum <"$POM"; } | tr '\n' ' '
}

is_installed() {
    [[ -f "$INSTALL_STAMP" ]] \
        && [[ "$(cat "$INSTALL_STAMP")" == "$(pom_fingerprint)" ]] \
        && compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null
}

cmd_install() {
    if is_installed; then
        log "Kafka $(kafka_version) jars already installed in ${LIB_DIR#"$REPO_ROOT"/}"
        return 0
    fi
    mkdir -p "$SCRIPT_DIR/.build"
    # Several state dirs (dev stack, tests) may start at once on a fresh checkout.
    if command -v flock >/dev/null 2>&1; then
        exec 8>"$SCRIPT_DIR/.build/.install.lock"
        flock -w 600 8 || die "timed out waiting for another install to finish"
        if is_installed; then
            exec 8>&-
            log "Kafka $(kafka_version) jars installed by another kafka.sh"
            return 0
        fi
    fi
    command -v mvn >/dev/null 2>&1 \
        || die "mvn (Apache Maven) not found; install it (e.g. apt-get install -y maven) and retry"
    log "resolving Kafka $(kafka_version) from Maven Central (first time only)..."
    local new_lib="$LIB_DIR.new" mvn_log="$SCRIPT_DIR/.build/mvn.log"
    rm -rf "$new_lib"
    if ! mvn -q -B -Dstyle.color=never -f "$POM" -Dlib.dir="$new_lib" \
            dependency:copy-dependencies >"$mvn_log" 2>&1; then
        cat "$mvn_log" >&2
        rm -rf "$new_lib"
        die "Maven could not resolve the Kafka jars (output above, also in ${mvn_log#"$REPO_ROOT"/})"
    fi
    compgen -G "$new_lib/kafka_2.13-*.jar" >/dev/null \
        || die "Maven finished but no kafka_2.13 jar in $new_lib"
    pom_fingerprint >"$new_lib/.installed"
    # Swap in the complete set (a running broker keeps its open jars).
    rm -rf "$LIB_DIR.old"
    [[ -d "$LIB_DIR" ]] && mv "$LIB_DIR" "$LIB_DIR.old"
    mv "$new_lib" "$LIB_DIR"
    rm -rf "$LIB_DIR.old"
    exec 8>&-
    log "installed $(find "$LIB_DIR" -name '*.jar' | wc -l | tr -d ' ') jars into ${LIB_DIR#"$REPO_ROOT"/}"
}

# ------------------------------------------------------------- process ----

# True if $1 is a live process running our broker.
is_kafka_pid() { is_service_pid "$1" kafka.Kafka; }

# Prints the broker pid if it is running. Cleans up a stale pid file.
running_pid() {
    local pid=""
    pid_from_file "$PID_FILE" kafka.Kafka && return 0
    # Pid file lost but our broker still up? Match on our own config path.
    if command -v pgrep >/dev/null 2>&1; then
        pid="$(pgrep -f "kafka\.Kafka $CONF_FILE\$" | head -n 1 || true)"
        if [[ -n "$pid" ]] && is_kafka_pid "$pid"; then
            echo "$pid" >"$PID_FILE"
            echo "$pid"
            return 0
        fi
    fi
    return 1
}

# The broker port of the running broker (from its generated config).
running_port() {
    sed -n 's|^listeners=PLAINTEXT://[^:]*:\([0-9]*\).*|\1|p' "$CONF_FILE" 2>/dev/null | head -n 1
}

kafka_lock() { with_lock "$LOCK_FILE" 120 "$@"; }

# ------------------------------------------------------------- storage ----

prop() { # prop KEY FILE
    sed -n "s/^$1=//p" "$2" 2>/dev/null | tail -n 1 | tr -d '\r'
}

# Storage is usable if it was formatted by us (cluster.id written after a
# successful format) and meta.properties agrees with it.
storage_ok() {
    local meta="$DATA_DIR/meta.properties" want have
    [[ -s "$CLUSTER_ID_FILE" ]] || { STORAGE_PROBLEM="no record of a completed format (${CLUSTER_ID_FILE##*/} missing)"; return 1; }
    [[ -s "$meta" ]] || { STORAGE_PROBLEM="meta.properties missing"; return 1; }
    want="$(tr -d '[:space:]' <"$CLUSTER_ID_FILE")"
    have="$(prop cluster.id "$meta")"
    [[ -n "$want" && "$want" == "$have" ]] || { STORAGE_PROBLEM="cluster id mismatch (meta.properties: ${have:-none}, expected: $want)"; return 1; }
    [[ "$(prop node.id "$meta")" == "$NODE_ID" ]] || { STORAGE_PROBLEM="node.id in meta.properties is not $NODE_ID"; return 1; }
    [[ -n "$(prop directory.id "$meta")" ]] || { STORAGE_PROBLEM="meta.properties has no directory.id"; return 1; }
    [[ -d "$DATA_DIR/__cluster_metadata-0" ]] || { STORAGE_PROBLEM="metadata log __cluster_metadata-0 is missing"; return 1; }
    return 0
}

format_storage() {
    local reason="$1" cid out
    if [[ -n "$(ls -A "$DATA_DIR" 2>/dev/null)" ]]; then
        warn "data dir unusable ($reason): wiping ${DATA_DIR} and re-formatting"
    fi
    rm -rf "$DATA_DIR" "$CLUSTER_ID_FILE"
    mkdir -p "$DATA_DIR"
    cid="$(kafka_tool kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1 | tr -d '[:space:]')"
    [[ -n "$cid" ]] || die "could not generate a cluster id (kafka.tools.StorageTool random-uuid failed)"
    if ! out="$(kafka_tool kafka.tools.StorageTool format -t "$cid" -c "$CONF_FILE" 2>&1)"; then
        printf '%s\n' "$out" >&2
        rm -rf "$DATA_DIR"
        die "formatting Kafka storage failed"
    fi
    echo "$cid" >"$CLUSTER_ID_FILE"
    log "formatted storage in ${DATA_DIR} (cluster id $cid)"
}

write_config() {
    mkdir -p "$STATE_DIR" "$DATA_DIR" "$LOG_DIR"
    local tmp="$CONF_FILE.tmp"
    sed -e "s|@NODE_ID@|$NODE_ID|g" \
        -e "s|@PORT@|$KAFKA_PORT|g" \
        -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
        -e "s|@DATA_DIR@|$DATA_DIR|g" \
        "$TEMPLATE" >"$tmp"
    mv -f "$tmp" "$CONF_FILE"
}

# --------------------------------------------------------------- start ----

print_failure_help() {
    warn "logs: $LOG_DIR (server.log, kafka.out)"
    local out
    out="$(current_start_output | tail -n 30)"
    if [[ -n "$out" ]]; then
        warn "---- last lines logged by this start ----"
        printf '%s\n' "$out" >&2
    fi
}

# Real readiness probe: a Kafka DescribeCluster request; the answer must be
# our cluster id (guards against a different broker on the same port).
probe_cluster_id() {
    local out
    out="$(timeout 20 "$JAVA_BIN" -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Dlog4j2.configurationFile="$TOOLS_LOG4J" -cp "$LIB_DIR/*" \
        org.apache.kafka.tools.ClusterTool cluster-id \
        --bootstrap-server "$KAFKA_HOST:$KAFKA_PORT" 2>/dev/null || true)"
    sed -n 's/^Cluster ID: *//p' <<<"$out" | tr -d '[:space:]'
}

# Returns 0 when ready, 1 when the process died, 2 on timeout.
wait_ready() {
    local pid="$1" want deadline got
    want="$(tr -d '[:space:]' <"$CLUSTER_ID_FILE")"
    deadline=$((SECONDS + START_TIMEOUT))
    while (( SECONDS < deadline )); do
        # Plain liveness: right after the fork the process may not have
        # exec'd java yet, so is_kafka_pid would give a false negative.
        is_alive "$pid" || return 1
        if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
            got="$(probe_cluster_id)"
            if [[ "$got" == "$want" ]]; then
                return 0
            elif [[ -n "$got" ]]; then
                warn "port $KAFKA_PORT answers with cluster id $got, expected $want"
            fi
        fi
        sleep 1
    done
    return 2
}

launch() {
    local heap="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
    local -a jvm
    # shellcheck disable=SC2206 # word splitting of the option strings is intended
    jvm=($heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
         -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
         -Dkafka.logs.dir="$LOG_DIR" -Dlog4j2.configurationFile="$SERVER_LOG4J"
         ${KAFKA_JVM_OPTS:-})
    local starter=()
    command -v setsid >/dev/null 2>&1 && starter=(setsid)
    LOG_OFFSET=0
    [[ -f "$SERVER_LOG" ]] && LOG_OFFSET="$(wc -c <"$SERVER_LOG" | tr -d ' ')"
    echo "==== $(date '+%Y-%m-%d %H:%M:%S') starting Kafka $(kafka_version) on $KAFKA_HOST:$KAFKA_PORT ====" >"$CONSOLE_LOG"
    (
        exec 8>&- 9>&-   # do not let the broker inherit the kafka.sh locks
        cd "$STATE_DIR"
        exec nohup "${starter[@]}" "$JAVA_BIN" "${jvm[@]}" -cp "$LIB_DIR/*" kafka.Kafka "$CONF_FILE" \
            >>"$CONSOLE_LOG" 2>&1 </dev/null
    ) &
    LAUNCHED_PID=$!
}

do_start() {
    local pid
    already_running "$KAFKA_HOST" "$KAFKA_PORT" && return 0
    find_java
    is_installed || cmd_install
    for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        if port_open "$KAFKA_HOST" "$p"; then
            die "port $KAFKA_HOST:$p is already in use by another process (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
        fi
    done

    write_config
    STORAGE_PROBLEM=""
    storage_ok || format_storage "$STORAGE_PROBLEM"

    local attempt rc t0=$SECONDS
    for attempt in 1 2; do
        launch
        pid="$LAUNCHED_PID"
        echo "$pid" >"$PID_FILE"
        log "starting (pid $pid), waiting up to ${START_TIMEOUT}s for $KAFKA_HOST:$KAFKA_PORT..."
        rc=0; wait_ready "$pid" || rc=$?
        if (( rc == 0 )); then
            log "running (pid $pid) on $KAFKA_HOST:$KAFKA_PORT, ready after $((SECONDS - t0))s; logs in $LOG_DIR"
            return 0
        fi
        if (( rc == 2 )); then
            warn "not ready after ${START_TIMEOUT}s; stopping it"
            stop_pid "$pid" >/dev/null || true
            rm -f "$PID_FILE"
            print_failure_help
            exit 1
        fi
        # The process died during startup. If it choked on its storage,
        # wipe and re-format once; otherwise give up.
        wait "$pid" 2>/dev/null || true
        rm -f "$PID_FILE"
        local reason
        if (( attempt == 1 )) && reason="$(storage_failure_reason)"; then
            format_storage "the broker could not load it: $(cut -c1-240 <<<"$reason")"
            continue
        fi
        warn "Kafka exited during startup"
        print_failure_help
        exit 1
    done
}

# Output of the current start attempt only: kafka.out is rewritten on every
# launch, server.log is appended to (LOG_OFFSET = its size before launch).
current_start_output() {
    cat "$CONSOLE_LOG" 2>/dev/null || true
    [[ -f "$SERVER_LOG" ]] || return 0
    local size
    size="$(wc -c <"$SERVER_LOG" | tr -d ' ')"
    if (( size >= LOG_OFFSET )); then
        tail -c +"$((LOG_OFFSET + 1))" "$SERVER_LOG"
    else
        cat "$SERVER_LOG" # rotated meanwhile
    fi
}

# If the broker died because of unusable on-disk state (as opposed to e.g. a
# port conflict or a bad JVM option), print a one-line reason.
storage_failure_reason() {
    local out
    out="$(current_start_output)"
    grep -qE 'BindException|Address already in use|OutOfMemoryError' <<<"$out" && return 1
    # An exception that names a file in the data dir or a storage-level problem ...
    grep -E 'Exception|Error' <<<"$out" \
        | grep -E "$DATA_DIR|meta\.properties|checkpoint|quorum-state|CorruptRecordException|InconsistentClusterIdException|InconsistentNodeIdException|KafkaStorageException" \
        | grep -vE '^[[:space:]]+at ' | head -n 1 | grep . && return 0
    # ... or a fatal error thrown while loading the logs / metadata quorum.
    if grep -qE '^[[:space:]]+at (org\.apache\.kafka\.(storage|raft|metadata\.properties)\.|kafka\.raft\.|kafka\.log\.)' <<<"$out"; then
        grep -E '^[a-zA-Z_$.]+(Exception|Error)' <<<"$out" | head -n 1 | grep . && return 0
    fi
    return 1
}

# ---------------------------------------------------------------- stop ----

stop_pid() {
    local pid="$1"
    kill -TERM "$pid" 2>/dev/null || return 0
    if ! wait_gone "$pid" "$STOP_TIMEOUT" 0.5; then
        warn "no clean shutdown after ${STOP_TIMEOUT}s, sending SIGKILL to $pid"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
        return 1
    fi
    return 0
}

do_stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$PID_FILE"
        log "not running"
        return 0
    fi
    log "stopping (pid $pid)..."
    if stop_pid "$pid"; then
        log "stopped"
    else
        log "killed"
    fi
    rm -f "$PID_FILE"
}

# -------------------------------------------------------------- status ----

cmd_status() {
    print_status "$KAFKA_HOST" "$KAFKA_PORT" "port not answering yet" port_open "$KAFKA_HOST"
}

cmd_logs() {
    [[ -f "$SERVER_LOG" ]] || die "no log yet ($SERVER_LOG)"
    if [[ "${1:-}" == "-f" || "${1:-}" == "--follow" ]]; then
        exec tail -n 100 -F "$SERVER_LOG"
    fi
    tail -n "${LOG_LINES:-100}" "$SERVER_LOG"
}

usage() {
    cat <<EOF
usage: $(basename "$0") install | start | stop | status | restart | logs [-f]

  install   download the Kafka $(kafka_version) jars with Maven (only if missing)
  start     start a single-node KRaft broker on $KAFKA_HOST:$KAFKA_PORT (installs if needed)
  stop      stop it (SIGTERM, SIGKILL after ${STOP_TIMEOUT}s)
  status    exit 0 if running, 1 if not
  restart   stop + start
  logs      print the end of server.log (-f to follow)

state: $STATE_DIR
EOF
}

case "${1:-}" in
    install) kafka_lock cmd_install ;;
    start)   kafka_lock do_start ;;
    stop)    kafka_lock do_stop ;;
    restart) kafka_lock do_stop; kafka_lock do_start ;;
    status)  cmd_status ;;
    logs)    shift; cmd_logs "$@" ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
esac
