#!/usr/bin/env bash
# The local stack without Docker: broker, Redis, topics, a first model, then every service.
#
#   infra/stack.sh up [--live]   start (foreground; Ctrl-C stops the services)
#   infra/stack.sh down          stop the services, the broker and Redis
#   infra/stack.sh status        what is running
#
# Data, never guessed: --live streams Binance; TRADES_DIR replays Binance trades dump files;
# otherwise trades are SYNTHETIC, labelled source="synthetic" in every message.
# HISTORY_DIR (Binance kline dump files) backfills real history for the first model;
# otherwise the first model is trained on labelled synthetic history.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$HOME/.local/bin:$PATH"
export TICKCAST_HOME="${TICKCAST_HOME:-$ROOT/.local}"
[ -f .env ] && { set -a; . ./.env; set +a; }

SYMBOLS="${SYMBOLS:-BTCUSDT}"
GATEWAY_PORT="${GATEWAY_PORT:-8000}"
PID_FILE="$TICKCAST_HOME/stack.pid"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33m!!\033[0m %s\n' "$*" >&2; }

start_infra() {
  bash infra/install.sh python
  bash infra/install.sh infra
  bash infra/kafka/kafka.sh start
  bash infra/redis/redis.sh start
  python -m tickcast create-topics
}

first_model() {
  export TRAINING_SYMBOLS="$SYMBOLS" INFERENCE_SYMBOLS="$SYMBOLS"
  if python -m inference champion >/dev/null 2>&1; then
    say "a champion model is registered already; skipping the first training"
    return
  fi
  if [ -n "${HISTORY_DIR:-}" ]; then
    say "backfilling real history from $HISTORY_DIR and training the first model"
    python -m feature_pipeline backfill --symbols "$SYMBOLS" --data-dir "$HISTORY_DIR" \
      --start "${HISTORY_START:?set HISTORY_START=YYYY-MM-DD}" --end "${HISTORY_END:?set HISTORY_END=YYYY-MM-DD}"
    python -m training train --source store --start "$HISTORY_START" --end "$HISTORY_END" \
      --models "${TRAINING_MODELS:-mlp}"
  else
    warn "no HISTORY_DIR: the first model is trained on SYNTHETIC history (labelled as such)"
    python -m training train --source synthetic --models "${TRAINING_MODELS:-mlp}" --candles "${SYNTHETIC_CANDLES:-20000}"
  fi
}

# The first forecaster set (price bands, volatility, P(up)), so predictions carry distribution forecasts
# from the start. Baselines and the cheap learned forecasters only (--no-neural: under a minute).
first_forecasters() {
  export TRAINING_SYMBOLS="$SYMBOLS" INFERENCE_SYMBOLS="$SYMBOLS"
  if python -m inference forecasters >/dev/null 2>&1; then
    say "a forecaster set is registered already; skipping the first forecaster training"
    return
  fi
  if [ -n "${HISTORY_DIR:-}" ]; then
    say "training the first forecaster set (distribution, volatility, P(up)) on the real history backfilled"
    python -m training forecast --source store --start "$HISTORY_START" --end "$HISTORY_END" --no-neural
  else
    warn "no HISTORY_DIR: the first forecaster set is trained on SYNTHETIC history (labelled as such)"
    python -m training forecast --source synthetic --no-neural --candles "${SYNTHETIC_CANDLES:-20000}"
  fi
}

producer_args() {
  if [ "${1:-}" = "--live" ]; then
    echo "live --symbols $SYMBOLS"
  elif [ -n "${TRADES_DIR:-}" ]; then
    echo "replay $TRADES_DIR --speed ${REPLAY_SPEED:-max}"
  else
    warn "no --live and no TRADES_DIR: streaming SYNTHETIC trades (source=\"synthetic\" in every message)"
    # A day of history at full speed (the longest feature lookback is 24 h), then real time.
    echo "synthetic --symbols $SYMBOLS --trades 0 --start now-26h --speed live"
  fi
}

cmd_up() {
  start_infra
  first_model || warn "the first training failed: inference serves the persistence baseline until a champion exists"
  first_forecasters || warn "the first forecaster training failed: predictions carry no distribution forecasts until a set is registered"
  export TICKCAST_PRODUCER_ARGS
  TICKCAST_PRODUCER_ARGS="$(producer_args "${1:-}")"
  export GATEWAY_PORT
  cat >&2 <<MSG

  Dashboard       http://127.0.0.1:$GATEWAY_PORT/
  API (OpenAPI)   http://127.0.0.1:$GATEWAY_PORT/docs
  Metrics         http://127.0.0.1:$GATEWAY_PORT/metrics  (services: METRICS_PORT, see .env.example)
  Kafka           127.0.0.1:${KAFKA_PORT:-9092}   Redis ${REDIS_URL:-redis://127.0.0.1:6379/0}
  Ctrl-C stops the services; 'make down' also stops Kafka and Redis.

MSG
  echo $$ > "$PID_FILE"
  exec honcho -d "$ROOT" -f infra/Procfile start
}

cmd_down() {
  if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    say "stopping the services"
    kill -TERM "$(cat "$PID_FILE")" || true
    for _ in $(seq 1 30); do kill -0 "$(cat "$PID_FILE")" 2>/dev/null || break; sleep 1; done
  fi
  rm -f "$PID_FILE"
  bash infra/kafka/kafka.sh stop
  bash infra/redis/redis.sh stop
}

cmd_status() {
  if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    echo "services: running (honcho pid $(cat "$PID_FILE"))"
  else
    echo "services: not running"
  fi
  bash infra/kafka/kafka.sh status || true
  bash infra/redis/redis.sh status || true
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up [--live] | down | status" >&2; exit 2 ;;
esac
