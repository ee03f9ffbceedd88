#!/usr/bin/env bash
# Throwaway ClickHouse (Debian's clickhouse-server 18.16) for integration tests.
#
#   scripts/clickhouse-server.sh start          # prints the HTTP URL, nothing else on stdout
#   scripts/clickhouse-server.sh stop [--clean] # --clean also wipes the run dir
#   scripts/clickhouse-server.sh status         # exit 0 iff the server process is alive
#
# Env: CLICKHOUSE_HTTP_PORT (18123), CLICKHOUSE_TCP_PORT (19000),
#      CLICKHOUSE_RUN_DIR ($REPO/.cache/clickhouse-run).
# Config lives in scripts/clickhouse/; /etc/clickhouse-server is never read, so
# the package's own defaults (ports 8123/9000, listen on ::) cannot leak in.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$SCRIPT_DIR")"
CONF_FILE="$SCRIPT_DIR/clickhouse/config.xml"

HTTP_PORT="${CLICKHOUSE_HTTP_PORT:-18123}"
TCP_PORT="${CLICKHOUSE_TCP_PORT:-19000}"
# Absolute, because the server runs with the run dir as cwd and the config's
# paths are relative to it; -m because status/stop may run before it exists.
RUN_DIR="$(realpath -m "${CLICKHOUSE_RUN_DIR:-$REPO/.cache/clickhouse-run}")"
PID_FILE="$RUN_DIR/clickhouse-server.pid"
CONSOLE_LOG="$RUN_DIR/log/console.log"
SERVER_LOG="$RUN_DIR/log/clickhouse-server.log"
ERR_LOG="$RUN_DIR/log/clickhouse-server.err.log"
# Written on start; `stop --clean` refuses to wipe a directory without it, so a
# mistyped CLICKHOUSE_RUN_DIR (say, $HOME) is never rm -rf'd.
MARKER="$RUN_DIR/.egresslens-clickhouse-run"
URL="http://127.0.0.1:$HTTP_PORT"

START_TIMEOUT=60
STOP_TIMEOUT=30

log() { echo "clickhouse-server.sh: $*" >&2; }

usage() {
  echo "usage: $0 start | stop [--clean] | status" >&2
  exit 2
}

# The package puts the binary in /usr/sbin, which a non-root PATH often lacks.
find_server_bin() {
  command -v clickhouse-server 2>/dev/null && return 0
  [[ -x /usr/sbin/clickhouse-server ]] && { echo /usr/sbin/clickhouse-server; return 0; }
  return 1
}

ensure_installed() {
  local missing=()
  find_server_bin >/dev/null || missing+=(clickhouse-server clickhouse-client)
  command -v curl >/dev/null || missing+=(curl)
  ((${#missing[@]} == 0)) && return 0
  if [[ $(id -u) -ne 0 ]]; then
    log "missing ${missing[*]}; as root run: apt-get update && apt-get install -y ${missing[*]}"
    exit 1
  fi
  log "installing ${missing[*]} from apt"
  # stdout must stay reserved for the URL, so apt's chatter goes to stderr.
  {
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  } >&2
}

read_pid() {
  [[ -f $PID_FILE ]] || return 1
  local pid
  pid="$(<"$PID_FILE")"
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  echo "$pid"
}

# Matching on our config path guards against a recycled PID belonging to some
# unrelated process (or to another checkout's server) after a reboot/crash.
is_running() {
  local pid
  pid="$(read_pid)" || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--config-file=$CONF_FILE"
}

pings() {
  [[ "$(curl -s --max-time 2 "$URL/ping" 2>/dev/null || true)" == "Ok." ]]
}

dump_logs() {
  local f
  for f in "$CONSOLE_LOG" "$ERR_LOG" "$SERVER_LOG"; do
    [[ -s $f ]] || continue
    echo "---- tail $f ----" >&2
    tail -n 40 "$f" >&2
  done
}

wait_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    pings && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      log "server (pid $pid) exited during startup"
      return 1
    fi
    sleep 0.5
  done
  log "server did not answer $URL/ping within ${START_TIMEOUT}s"
  return 1
}

terminate() {
  local pid="$1" deadline=$((SECONDS + STOP_TIMEOUT))
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "pid $pid ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
      break
    fi
    sleep 0.2
  done
}

cmd_start() {
  if is_running; then
    local pid
    pid="$(read_pid)"
    # Another `start` may still be waiting on this server; do not report it
    # before it actually accepts queries.
    if ! wait_ready "$pid"; then
      dump_logs
      exit 1
    fi
    echo "$URL"
    return 0
  fi

  # Without this a foreign server on the port would make us report success
  # while our own process dies on "Address already in use".
  if pings; then
    log "something not started by this script already answers $URL/ping;" \
      "stop it or set CLICKHOUSE_HTTP_PORT"
    exit 1
  fi

  ensure_installed
  local bin
  bin="$(find_server_bin)"

  mkdir -p "$RUN_DIR/log"
  touch "$MARKER"
  rm -f "$PID_FILE"

  # setsid: detach from the caller's process group so a Ctrl-C in the test
  # runner does not take the server down mid-suite; `stop` is the way out.
  # All three fds are redirected so `URL=$(... start)` does not block forever
  # waiting for the server to close the captured stdout.
  # 18.16 has no root check, so no user switching is needed.
  (
    cd "$RUN_DIR"
    exec setsid "$bin" --config-file="$CONF_FILE" -- \
      --http_port="$HTTP_PORT" --tcp_port="$TCP_PORT" \
      </dev/null >>"$CONSOLE_LOG" 2>&1
  ) &
  local pid=$!
  echo "$pid" >"$PID_FILE"

  if ! wait_ready "$pid"; then
    dump_logs
    terminate "$pid"
    rm -f "$PID_FILE"
    exit 1
  fi
  echo "$URL"
}

cmd_stop() {
  local clean=0
  case "${1:-}" in
    "") ;;
    --clean) clean=1 ;;
    *) usage ;;
  esac

  if is_running; then
    terminate "$(read_pid)"
  fi
  rm -f "$PID_FILE"

  if ((clean)) && [[ -e $RUN_DIR ]]; then
    if [[ ! -e $MARKER ]]; then
      log "refusing to wipe $RUN_DIR: no $(basename "$MARKER") marker in it"
      exit 1
    fi
    rm -rf "$RUN_DIR"
  fi
}

cmd_status() {
  if is_running; then
    local state="not answering ping yet"
    pings && state="ready"
    echo "running (pid $(read_pid), $state): $URL"
    return 0
  fi
  echo "not running"
  return 1
}

case "${1:-}" in
  start) (($# == 1)) || usage; cmd_start ;;
  stop) (($# <= 2)) || usage; cmd_stop "${2:-}" ;;
  status) (($# == 1)) || usage; cmd_status ;;
  *) usage ;;
esac
