#!/usr/bin/env bash
# Run a real single-node Apache Kafka broker (KRaft, combined broker+controller)
# for tests and CI. No Docker and no tarball download: the broker's jars come
# from Maven Central through scripts/kafka/pom.xml and are cached.
#
#   scripts/kafka.sh start            start (or reuse) the broker; prints "127.0.0.1:19092"
#   scripts/kafka.sh stop [--clean]   stop it; --clean also wipes topics/data (the run dir)
#   scripts/kafka.sh status           prints the address and exits 0 if running, else exits 1
#   scripts/kafka.sh fetch            only fetch the jars into the cache
#   scripts/kafka.sh topic create <topic> [partitions]   (also: list | describe <t> | delete <t>)
#
# stdout carries only the bootstrap address (so `BOOTSTRAP=$(scripts/kafka.sh start)`
# works); all progress and errors go to stderr.
#
# Environment:
#   KAFKA_HOME_CACHE       jar cache            (default: $REPO/.cache/kafka)
#   KAFKA_RUN_DIR          config, data, logs   (default: $REPO/.cache/kafka-run)
#   KAFKA_PORT             client port          (default: 19092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port (default: 19093)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness (default: 60)
#   KAFKA_HEAP_OPTS        broker heap          (default: -Xms256m -Xmx512m)
#   JAVA_HOME              java to use          (default: java on PATH)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd)"

POM="$SCRIPT_DIR/kafka/pom.xml"
CACHE="${KAFKA_HOME_CACHE:-$REPO/.cache/kafka}"
LIBS="$CACHE/libs"
RUN_DIR="${KAFKA_RUN_DIR:-$REPO/.cache/kafka-run}"
HOST=127.0.0.1
PORT="${KAFKA_PORT:-19092}"
CTRL_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
BOOTSTRAP="$HOST:$PORT"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
STOP_TIMEOUT=20

DATA_DIR="$RUN_DIR/data"
LOG_DIR="$RUN_DIR/logs"
PID_FILE="$RUN_DIR/kafka.pid"
SERVER_PROPS="$RUN_DIR/server.properties"
BROKER_LOG="$LOG_DIR/server.log" # log4j output of the broker
JVM_OUT="$LOG_DIR/kafka.out"     # raw stdout/stderr of the JVM (crashes, early errors)

if [[ -n "${JAVA_HOME:-}" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=java; fi

log() { printf '[kafka.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit 2
}

# Serialise start/stop/fetch between concurrent callers (e.g. parallel test
# jobs), so two of them never launch two brokers or fetch into the same dir.
with_lock() {
  local file="$1"; shift
  mkdir -p "$(dirname "$file")"
  exec 9>"$file"
  flock -w 180 9 || die "timed out waiting for lock $file"
  "$@"
}

# ---------------------------------------------------------------- jars ----

# The cache is keyed by the pom's content: changing the Kafka version in the
# pom re-fetches, anything else reuses the jars without touching the network.
pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

libs_ready() { [[ -f "$LIBS/.pom.sha256" && "$(cat "$LIBS/.pom.sha256")" == "$(pom_hash)" ]]; }

fetch() {
  libs_ready && return 0
  mkdir -p "$CACHE"
  exec 8>"$CACHE.lock"
  flock -w 600 8 || die "timed out waiting for lock $CACHE.lock"
  libs_ready && return 0 # another process fetched while we waited
  command -v mvn >/dev/null || die "mvn not found (apt-get install -y maven)"
  log "fetching Kafka jars from Maven Central into $LIBS ..."
  local t0=$SECONDS tmp="$CACHE/libs.tmp.$$"
  rm -rf "$tmp"
  # mvn prints to stdout; keep our stdout clean for the bootstrap address.
  # (The sed drops the bare colour-reset codes Maven 3.8 emits even with -q -B.)
  if ! mvn -q -B -f "$POM" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^$/d' >&2; then
    rm -rf "$tmp"
    die "mvn failed to fetch the Kafka jars"
  fi
  pom_hash >"$tmp/.pom.sha256"
  # Fetch into a temp dir and swap, so an interrupted fetch never leaves a
  # half-filled libs dir that later runs would mistake for a complete one.
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  log "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars in $((SECONDS - t0))s"
}

# Run one of the Kafka CLI classes with a small, quick-starting JVM (C1 only,
# serial GC): these are short-lived, and startup time dominates. An array
# rather than a function so that `timeout` can run it too.
TOOL_JAVA=("$JAVA" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
  -Dlog4j.configuration="file:$RUN_DIR/tools-log4j.properties" -cp "$LIBS/*")
run_tool() { "${TOOL_JAVA[@]}" "$@"; }

# ------------------------------------------------------------- process ----

# Prints the broker's PID if it is running. The /proc check guards against a
# stale PID file whose number the OS has since given to another process.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "kafka.Kafka $SERVER_PROPS" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Kafka cluster ids are 16 random bytes in URL-safe base64 without padding
# (22 chars). Generated here rather than by `StorageTool random-uuid` to save a
# JVM start; like Kafka's Uuid.randomUuid we avoid a leading '-', which CLI
# parsers would take for an option.
random_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* ]] && { echo "$id"; return; }
  done
}

write_config() {
  mkdir -p "$DATA_DIR" "$LOG_DIR"
  # Rewritten on every start so that port changes via env take effect; the
  # data dir (topics, offsets, cluster id) is what persists across restarts.
  cat >"$SERVER_PROPS" <<EOF
# Generated by scripts/kafka.sh on every start; edits are overwritten.
# Single node in KRaft combined mode: this process is broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CTRL_PORT
controller.listener.names=CONTROLLER
# Loopback only: a test broker must never be reachable from the network.
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CTRL_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR

# One node, so every internal topic must make do with one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
default.replication.factor=1
min.insync.replicas=1
# Fewer internal partitions: the first consumer group / transaction then
# creates 1 partition instead of 50, which makes the first test much faster.
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1

# Tests: consumers join immediately, and topics exist only if a test made them.
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.partitions=1
EOF

  # Broker logs go to a rolling file, not the terminal of whoever started it.
  cat >"$RUN_DIR/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$BROKER_LOG
log4j.appender.file.MaxFileSize=10MB
log4j.appender.file.MaxBackupIndex=3
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
# Per-request and per-partition state logs are very chatty and rarely useful here.
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
EOF

  # CLI tools: warnings and errors only, on stderr.
  cat >"$RUN_DIR/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

# KRaft needs its log dir formatted (with a cluster id) before first start.
# Skipped when already formatted, so topics and data survive a restart.
format_storage() {
  [[ -f "$DATA_DIR/meta.properties" ]] && return 0
  local id
  id="$(random_cluster_id)"
  log "formatting storage in $DATA_DIR (cluster id $id)"
  run_tool kafka.tools.StorageTool format --ignore-formatted \
    --cluster-id "$id" --config "$SERVER_PROPS" >&2
}

# Byte size of the broker log before this start: log4j appends across runs,
# and a failure report should show this run's lines, not the last run's.
LOG_START_OFFSET=0

dump_logs() {
  log "---- last lines of $BROKER_LOG (this run) ----"
  tail -c "+$((LOG_START_OFFSET + 1))" "$BROKER_LOG" 2>/dev/null | tail -n 60 >&2 || true
  log "---- last lines of $JVM_OUT ----"
  tail -n 30 "$JVM_OUT" >&2 2>/dev/null || true
}

# Readiness is a real metadata round trip that must list this broker, not
# just an open port. kcat is quick; without it, the jars' kafka-topics does
# the same (one JVM start, ~1-2 s), with short timeouts so we can retry.
probe() {
  if command -v kcat >/dev/null; then
    timeout 10 kcat -b "$BOOTSTRAP" -L -m 5 2>/dev/null | grep -q "broker 1 at $BOOTSTRAP"
  else
    printf 'request.timeout.ms=5000\ndefault.api.timeout.ms=5000\n' >"$RUN_DIR/probe.properties"
    timeout 30 "${TOOL_JAVA[@]}" org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
      --command-config "$RUN_DIR/probe.properties" --list >/dev/null 2>&1
  fi
}

# The tests produce with kcat too (a producer we did not write). Installed from Debian when missing and root.
ensure_kcat() {
  command -v kcat >/dev/null && return 0
  if [[ $(id -u) -ne 0 ]]; then
    log "kcat is missing; as root run: apt-get update && apt-get install -y kcat"
    return 0
  fi
  log "installing kcat from apt"
  {
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends kcat
  } >&2
}

start_locked() {
  ensure_kcat
  if running_pid >/dev/null; then
    log "already running (pid $(running_pid))"
    echo "$BOOTSTRAP"
    return 0
  fi
  rm -f "$PID_FILE"
  command -v "$JAVA" >/dev/null || die "java not found (need Java 11+, 17 recommended)"
  # Something else on our port would make us wait the full timeout and then
  # hand the tests a broker that is not ours; fail now, and say why.
  for p in "$PORT" "$CTRL_PORT"; do
    port_open "$p" && die "port $p on $HOST is already in use by another process (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
  done

  fetch
  write_config
  format_storage

  local t0=$SECONDS pid
  LOG_START_OFFSET="$(stat -c %s "$BROKER_LOG" 2>/dev/null || echo 0)"
  log "starting broker on $BOOTSTRAP (logs: $BROKER_LOG)"
  # setsid + all three streams redirected: the broker outlives this script and
  # never holds the caller's pipes open (else `$(kafka.sh start)` would hang).
  # fds 8/9 are our lock files: the broker must not inherit (and keep) them.
  # (A script runs without job control, so setsid execs java in place and $!
  # is the JVM's own PID.)
  # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS is a list of flags
  setsid "$JAVA" ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$RUN_DIR/log4j.properties" \
    -Dkafka.logs.dir="$LOG_DIR" \
    -cp "$LIBS/*" kafka.Kafka "$SERVER_PROPS" \
    </dev/null >"$JVM_OUT" 2>&1 8>&- 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"

  local deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      dump_logs
      die "broker exited during startup"
    fi
    if port_open "$PORT" && probe; then
      break
    fi
    if ((SECONDS >= deadline)); then
      dump_logs
      log "broker not ready after ${START_TIMEOUT}s; stopping it"
      stop_locked "" >/dev/null 2>&1 || true
      exit 1
    fi
    sleep 0.5
  done
  log "ready in $((SECONDS - t0))s (pid $pid)"
  echo "$BOOTSTRAP"
}

stop_locked() {
  local clean="${1:-}" pid
  if pid="$(running_pid)"; then
    log "stopping broker (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      log "still alive after ${STOP_TIMEOUT}s; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    log "stopped"
  else
    log "not running"
  fi
  rm -f "$PID_FILE"
  if [[ "$clean" == "--clean" ]]; then
    log "removing $RUN_DIR"
    rm -rf "$RUN_DIR"
  fi
}

# -------------------------------------------------------------- topics ----

topic() {
  local action="${1:-}"; shift || true
  running_pid >/dev/null || die "broker is not running (scripts/kafka.sh start)"
  local -a base=(--bootstrap-server "$BOOTSTRAP")
  case "$action" in
    create)
      [[ $# -ge 1 ]] || die "usage: topic create <topic> [partitions]"
      run_tool org.apache.kafka.tools.TopicCommand "${base[@]}" --create --if-not-exists \
        --topic "$1" --partitions "${2:-1}" --replication-factor 1 >&2 ;;
    delete)
      [[ $# -ge 1 ]] || die "usage: topic delete <topic>"
      run_tool org.apache.kafka.tools.TopicCommand "${base[@]}" --delete --if-exists --topic "$1" >&2 ;;
    describe)
      run_tool org.apache.kafka.tools.TopicCommand "${base[@]}" --describe ${1:+--topic "$1"} ;;
    list)
      run_tool org.apache.kafka.tools.TopicCommand "${base[@]}" --list ;;
    *) die "usage: topic create <topic> [partitions] | delete <topic> | describe [topic] | list" ;;
  esac
}

# ---------------------------------------------------------------- main ----

cmd="${1:-}"; shift || true
case "$cmd" in
  start) with_lock "$RUN_DIR.lock" start_locked ;;
  stop)
    [[ $# -eq 0 || "$1" == "--clean" ]] || usage
    with_lock "$RUN_DIR.lock" stop_locked "${1:-}" ;;
  status)
    if pid="$(running_pid)"; then
      log "running (pid $pid)"
      echo "$BOOTSTRAP"
    else
      log "not running"
      exit 1
    fi ;;
  fetch) fetch ;;
  topic) topic "$@" ;;
  *) usage ;;
esac
