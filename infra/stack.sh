#!/usr/bin/env bash
# The local stack without Docker: broker, Redis, topics, then every service at once; the first model
# and forecaster set train beside them (the Procfile's one-shot `models`), and inference serves the
# persistence baseline, labelled as such, until the gate promotes one.
#
#   infra/stack.sh up [--live]   start (foreground; Ctrl-C stops the services)
#   infra/stack.sh down          stop the services, the broker and Redis
#   infra/stack.sh status        what is running
#   infra/stack.sh clean         down, then delete TICKCAST_HOME (the broker's and Redis's data too)
#   infra/stack.sh first-models  train the first model and forecaster set if none is registered (run by `up`)
#
# Data, never guessed: --live streams Binance; TRADES_DIR replays Binance trades dump files;
# otherwise trades are SYNTHETIC, labelled source="synthetic" in every message.
# HISTORY_DIR (Binance kline dump files) backfills real history for the first model;
# otherwise the first model is trained on labelled synthetic history.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$HOME/.local/bin:$PATH"

# .env fills in what the environment does not set: a variable given on the command line wins.
load_env_file() {
  local line name
  [ -f .env ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    [[ "$line" =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)= ]] || continue
    name="${BASH_REMATCH[1]}"
    [ -n "${!name+set}" ] && continue
    eval "export $line"
  done < .env
}
load_env_file

export TICKCAST_HOME="${TICKCAST_HOME:-$ROOT/.local}"
mkdir -p "$TICKCAST_HOME"
TICKCAST_HOME="$(cd "$TICKCAST_HOME" && pwd)"
SYMBOLS="${SYMBOLS:-BTCUSDT}"
PID_FILE="$TICKCAST_HOME/stack.pid"
STATE_FILE="$TICKCAST_HOME/stack/services.json"

# Every port of the stack can be moved, so that a second stack (a test) runs beside this one.
export KAFKA_PORT="${KAFKA_PORT:-9092}" REDIS_PORT="${REDIS_PORT:-6379}"
export KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:$KAFKA_PORT}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
export GATEWAY_PORT="${GATEWAY_PORT:-8000}"
export PRODUCER_METRICS_PORT="${PRODUCER_METRICS_PORT:-9101}"
export CANDLES_METRICS_PORT="${CANDLES_METRICS_PORT:-9102}"
export FEATURES_METRICS_PORT="${FEATURES_METRICS_PORT:-9103}"
export INFERENCE_METRICS_PORT="${INFERENCE_METRICS_PORT:-9104}"
export STACK_METRICS_PORT="${STACK_METRICS_PORT:-9100}"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33m!!\033[0m %s\n' "$*" >&2; }

start_infra() {
  bash infra/install.sh python
  bash infra/install.sh infra
  say "starting Kafka on 127.0.0.1:$KAFKA_PORT and Redis on 127.0.0.1:$REDIS_PORT (data in $TICKCAST_HOME)"
  # The registry's database, created once before the services and the first training share it;
  # beside the broker's start, which takes longer.
  python -m tickcast create-registry &
  local registry=$!
  bash infra/kafka/kafka.sh start
  bash infra/redis/redis.sh start
  python -m tickcast create-topics
  wait "$registry" || warn "the model registry could not be created: training and inference will say why"
}

# One stage of the first training, in one line: the full output (epochs, tables) goes to its log,
# the console gets the verdict line (`gate: ...`, `... registered as ...`) or where to look.
train_quietly() {
  local what="$1" verdict="$2" log="$TICKCAST_HOME/training/$3.log"
  shift 3
  mkdir -p "$(dirname "$log")"
  if "$@" >"$log" 2>&1; then
    say "$what: $(grep -E "$verdict" "$log" | tail -n 1 | sed -E 's/^[[:space:]]+//') (log: $log)"
  else
    warn "$what failed (log: $log)"
    return 1
  fi
}

first_model() {
  local trained="$TICKCAST_HOME/training/first-model.done"
  # Checked first: free, where asking the registry imports MLflow beside a restarting stack.
  if [ -f "$trained" ]; then
    # Trained once in this home already, whatever the gate decided. Training again at every
    # start would only change the served model behind the user's back.
    say "the first model was trained in this home before (verdict in first-model.log); 'python -m training train' trains another"
    return
  fi
  if python -m inference champion >/dev/null 2>&1; then
    say "a champion model is registered already; no first training"
    return
  fi
  if [ -n "${HISTORY_DIR:-}" ]; then
    say "backfilling real history from $HISTORY_DIR, then training the first model on it"
    train_quietly "backfill" "." first-backfill \
      python -m feature_pipeline backfill --symbols "$SYMBOLS" --data-dir "$HISTORY_DIR" \
      --start "${HISTORY_START:?set HISTORY_START=YYYY-MM-DD}" --end "${HISTORY_END:?set HISTORY_END=YYYY-MM-DD}" \
      || return 1
    train_quietly "first model (real history)" "^gate:" first-model \
      python -m training train --source store --start "$HISTORY_START" --end "$HISTORY_END" \
      --models "${TRAINING_MODELS:-mlp}" || return 1
  else
    warn "no HISTORY_DIR: the first model is trained on SYNTHETIC history (labelled as such), in the background"
    train_quietly "first model (synthetic history)" "^gate:" first-model \
      python -m training train --source synthetic --models "${TRAINING_MODELS:-mlp}" \
      --candles "${SYNTHETIC_CANDLES:-20000}" || return 1
  fi
  mkdir -p "$(dirname "$trained")" && touch "$trained"
}

# The first forecaster set (price bands, volatility, P(up)), so predictions carry distribution forecasts
# soon. Baselines and the cheap learned forecasters only (--no-neural: under a minute).
first_forecasters() {
  local trained="$TICKCAST_HOME/training/first-forecasters.done"
  if [ -f "$trained" ]; then
    say "the first forecaster set was trained in this home before; 'python -m training forecast' trains another"
    return
  fi
  if python -m inference forecasters >/dev/null 2>&1; then
    say "a forecaster set is registered already; no first forecaster training"
    return
  fi
  if [ -n "${HISTORY_DIR:-}" ]; then
    train_quietly "first forecaster set (real history)" "registered as|not registered" first-forecasters \
      python -m training forecast --source store --start "$HISTORY_START" --end "$HISTORY_END" --no-neural \
      || return 1
  else
    train_quietly "first forecaster set (SYNTHETIC history)" "registered as|not registered" first-forecasters \
      python -m training forecast --source synthetic --no-neural --candles "${SYNTHETIC_FORECAST_CANDLES:-20000}" \
      || return 1
  fi
  mkdir -p "$(dirname "$trained")" && touch "$trained"
}

# The Procfile's `models`: runs once beside the services and ends with exit 0 even when a training
# failed (inference then keeps serving what it serves; the stack does not retrain in a loop).
cmd_first_models() {
  export TRAINING_SYMBOLS="$SYMBOLS" INFERENCE_SYMBOLS="$SYMBOLS"
  first_model || warn "the first training failed: inference serves the persistence baseline until a champion exists"
  first_forecasters || warn "the first forecaster training failed: predictions carry no distribution forecasts until a set is registered"
}

producer_args() {
  if [ "${1:-}" = "--live" ]; then
    echo "live --symbols $SYMBOLS"
  elif [ -n "${TRADES_DIR:-}" ]; then
    echo "replay $TRADES_DIR --speed ${REPLAY_SPEED:-max}"
  else
    warn "no --live and no TRADES_DIR: streaming SYNTHETIC trades (source=\"synthetic\" in every message)"
    # A day of history at full speed (the longest feature lookback is 24 h), then real time.
    # Its trades are thinned (SYNTHETIC_HISTORY_SHARE, each larger) so that the first features come sooner.
    echo "synthetic --symbols $SYMBOLS --trades 0 --start now-26h --speed live --history-share ${SYNTHETIC_HISTORY_SHARE:-0.2}"
  fi
}

cmd_up() {
  start_infra
  # Inference serves the symbols the first model is trained on.
  export TICKCAST_PRODUCER_ARGS TRAINING_SYMBOLS="$SYMBOLS" INFERENCE_SYMBOLS="$SYMBOLS"
  TICKCAST_PRODUCER_ARGS="$(producer_args "${1:-}")"
  say "starting the services: trade producer, candle builder, feature pipeline, inference, gateway;"
  say "the first model and forecaster set train beside them ('models'): until the gate promotes one, the persistence baseline is served, labelled"
  cat >&2 <<MSG

  Dashboard       http://127.0.0.1:$GATEWAY_PORT/
  API (OpenAPI)   http://127.0.0.1:$GATEWAY_PORT/docs
  Metrics         http://127.0.0.1:$GATEWAY_PORT/metrics, services on ports $PRODUCER_METRICS_PORT-$INFERENCE_METRICS_PORT, restarts on $STACK_METRICS_PORT
  Kafka           $KAFKA_BOOTSTRAP_SERVERS   Redis $REDIS_URL
  A service that dies is restarted alone (RESTART_* in .env.example).
  Ctrl-C stops the services; 'make down' also stops Kafka and Redis.

MSG
  echo $$ > "$PID_FILE"
  exec python -m tickcast stack infra/Procfile --cwd "$ROOT"
}

cmd_down() {
  if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    say "stopping the services"
    kill -TERM "$(cat "$PID_FILE")" || true
    # The stack gives each service STACK_STOP_TIMEOUT_S (20 s) before SIGKILL.
    for _ in $(seq 1 60); do kill -0 "$(cat "$PID_FILE")" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$PID_FILE"
  bash infra/kafka/kafka.sh stop
  bash infra/redis/redis.sh stop
}

cmd_status() {
  if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    echo "services: running (stack pid $(cat "$PID_FILE"))"
    [ -f "$STATE_FILE" ] && python - "$STATE_FILE" <<'PY'
import json, sys
state = json.load(open(sys.argv[1]))
for name, service in state["services"].items():
    print(f"  {name:10} {service['state']:9} pid {service['pid']}  restarts {service['restarts']}")
PY
  else
    echo "services: not running"
  fi
  bash infra/kafka/kafka.sh status || true
  bash infra/redis/redis.sh status || true
}

cmd_clean() {
  cmd_down
  case "$TICKCAST_HOME" in
    /|"$HOME"|"$ROOT") warn "TICKCAST_HOME=$TICKCAST_HOME: refusing to delete it"; exit 1 ;;
  esac
  say "deleting $TICKCAST_HOME"
  rm -rf "$TICKCAST_HOME"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  clean) cmd_clean ;;
  first-models) cmd_first_models ;;
  *) echo "usage: $0 up [--live] | down | status | clean | first-models" >&2; exit 2 ;;
esac
