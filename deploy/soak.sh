#!/usr/bin/env bash
# hookgate held under load for MINUTES (default 60), with faults on a schedule (issue 32): two
# `serve` and two `work` processes, two HTTP subscribers (`sink`, which counts every delivery,
# and `slow`, which takes 250 ms to answer each), and a steady signed load from two load
# generators (duplicates and out-of-order pairs mixed in) plus an unfit event every 10 s.
# After a warm-up, in turn:
#   worker      a `work` process is killed with SIGKILL and started again
#   broker      RabbitMQ stops for 10 s (with SOAK_CLUSTER=1: one node of the local
#               three-node cluster, deploy/rabbitmq/local-cluster.sh)
#   receiver    a `serve` process is killed with SIGKILL and started again
#   postgres    PostgreSQL restarts
#   node        (SOAK_CLUSTER=1 only) another cluster node restarts
#   failover    (SOAK_FAILOVER=1 only) PostgreSQL fails over: the primary crashes, its
#               synchronous standby is promoted and the address moves to it
# With SOAK_FAILOVER=1 the database is a primary and a synchronous standby of their own behind
# an address that follows the primary (deploy/lib/pg_pair.sh, as deploy/pg-failover-test.sh
# uses), and `postgres` restarts the primary; without it, the machine's one server.
# Each fault is followed until the service is steady again (backlog under 2 s of load and the
# last 10 s accepted at 80% of the rate), at most 60 s. One line a minute (deploy/soak/
# monitor.py): accepted and processed events, accept p50 and p99, backlog and its age, PG
# connections, the inbox on disk, RSS and open files of each process. At the end the totals
# `lost, applied twice, notified twice, dead-lettered good events` and each process's memory
# growth. It fails when a total is not 0, a process that was not killed grew over 20% after
# the warm-up, a minute's p99 outside the fault windows is over 500 ms, or the service was
# not steady within 60 s of a fault.
#
#   deploy/soak.sh [MINUTES]   SOAK_RATE requests/s in all (default 150), SOAK_CLUSTER=1,
#                              SOAK_FAILOVER=1, SOAK_RELEASE=1 for an optimised build
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES="${1:-60}"
RATE="${SOAK_RATE:-150}"
WORK_DIR="$(mktemp -d /tmp/hookgate-soak.XXXXXX)"
chmod 755 "$WORK_DIR"
DATABASE="hookgate_soak_$(date +%s)_$$"
ADMIN_URL="postgres://hookgate:hookgate@127.0.0.1:5432/postgres"
SECRET="soak-secret"
SINK_PORT=18299
SLOW_PORT=18298
CLUSTER=deploy/rabbitmq/local-cluster.sh
MONITOR=deploy/soak/monitor.py
# With SOAK_FAILOVER=1: the pair's data, logs and sockets, and its ports.
PG_DIR="$WORK_DIR/pg"
FORWARD_PORT=55440
PRIMARY_PORT=55441
STANDBY_PORT=55442

log() { printf 'soak: %s\n' "$*" >&2; }

# shellcheck source=deploy/lib/processes.sh
source deploy/lib/processes.sh
# shellcheck source=deploy/lib/pg_pair.sh
source deploy/lib/pg_pair.sh
KEEP_LOGS="${SOAK_KEEP_LOGS:-}"
LOADS=()
MONITOR_PID=""

cleanup() {
  [ -z "$MONITOR_PID" ] || kill "$MONITOR_PID" 2>/dev/null || true
  for pid in "${LOADS[@]}"; do kill "$pid" 2>/dev/null || true; done
  stop_processes
  [ -z "${SOAK_CLUSTER:-}" ] || bash "$CLUSTER" down || true
  # The pair's data goes with it; its servers' logs stay in $PG_DIR with the others.
  [ -z "${SOAK_FAILOVER:-}" ] || stop_pair
  if [ -n "$KEEP_LOGS" ]; then
    log "logs kept in $WORK_DIR"
    [ -n "${SOAK_FAILOVER:-}" ] || log "the database kept in $DATABASE"
  else
    psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DATABASE WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK_DIR"
  fi
}
trap cleanup EXIT

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

HOOKGATE_SKIP_BROWSER=1 bash deploy/services.sh
command -v python3 >/dev/null || { log "python3 is needed for the subscribers and the monitor"; exit 1; }
if [ -n "${SOAK_RELEASE:-}" ]; then
  cargo build --locked --release --bin hookgate
  HOOKGATE=target/release/hookgate
else
  cargo build --locked --bin hookgate
  HOOKGATE=target/debug/hookgate
fi

if [ -n "${SOAK_FAILOVER:-}" ]; then
  start_pair
  sql "$PRIMARY_PORT" "CREATE DATABASE $DATABASE" >/dev/null
  export HOOKGATE_DATABASE_URL="postgres://postgres@127.0.0.1:$FORWARD_PORT/$DATABASE"
else
  psql "$ADMIN_URL" -qc "CREATE DATABASE $DATABASE"
  export HOOKGATE_DATABASE_URL="postgres://hookgate:hookgate@127.0.0.1:5432/$DATABASE"
fi
export HOOKGATE_INTERLACE_SECRETS="$SECRET"
export HOOKGATE_AMQP_PREFIX="soak_$$"
# Short tiers, so a good event that failed during a fault is retried within the run.
export HOOKGATE_RETRY_TIERS="1s,2s,5s,10s,30s"
if [ -n "${SOAK_CLUSTER:-}" ]; then
  bash "$CLUSTER" down
  bash "$CLUSTER" up
  export HOOKGATE_AMQP_URL="amqp://guest:guest@127.0.0.1:5681/%2f,amqp://guest:guest@127.0.0.1:5682/%2f,amqp://guest:guest@127.0.0.1:5683/%2f"
fi
"$HOOKGATE" migrate >/dev/null

start_sink "$SINK_PORT"
cat >>"$WORK_DIR/hookgate.toml" <<EOF

[[subscribers]]
name = "slow"
url = "http://127.0.0.1:$SLOW_PORT/"
secret = "whsec_TWZLUTlyOEdLWXFyVHdqVVBEOElMUFpJbzJMYUxhU3c="
patterns = ["notify.transfer.closed"]
EOF
python3 deploy/cluster/sink.py "$SLOW_PORT" "$WORK_DIR/slow.log" 0.25 &
PIDS+=($!)

# Each process's pid and port in $WORK_DIR/pids/<name>, for the monitor and the faults.
mkdir -p "$WORK_DIR/pids"
declare -A PORT_OF=([serve-1]=18291 [serve-2]=18292 [work-1]=18293 [work-2]=18294)
start_process() {
  local name=$1 port=${PORT_OF[$1]}
  HOOKGATE_LISTEN="127.0.0.1:$port" "$HOOKGATE" "${name%-*}" --no-migrate \
    >>"$WORK_DIR/$name-$port.log" 2>&1 &
  PIDS+=($!)
  HOOKGATE_PIDS+=($!)
  echo "$! $port" >"$WORK_DIR/pids/$name"
}
# SIGKILLs a process, forgets its pid (its exit status is the fault's, not a failed stop), and
# starts it again after a moment, as an orchestrator would.
kill_and_restart() {
  local name=$1 pid kept=() hookgate_kept=()
  pid=$(cut -d' ' -f1 "$WORK_DIR/pids/$name")
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  echo "$name $(date +%s.%N)" >>"$WORK_DIR/killed.log"
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  for p in "${HOOKGATE_PIDS[@]}"; do [ "$p" = "$pid" ] || hookgate_kept+=("$p"); done
  PIDS=("${kept[@]}")
  HOOKGATE_PIDS=("${hookgate_kept[@]}")
  sleep 3
  start_process "$name"
  wait_ready "${PORT_OF[$name]}"
}
for name in serve-1 serve-2 work-1 work-2; do start_process "$name"; done
for name in serve-1 serve-2 work-1 work-2; do wait_ready "${PORT_OF[$name]}"; done

DURATION=$((MINUTES * 60))
python3 "$MONITOR" watch "$WORK_DIR" "$HOOKGATE_DATABASE_URL" "$RATE" &
MONITOR_PID=$!
for port in 18291 18292; do
  "$HOOKGATE" bench --url "http://127.0.0.1:$port/webhooks/interlace" --secret "$SECRET" \
    --connections 8 --rate $((RATE / 2)) --duration "$DURATION" --out-of-order 0.1 \
    --duplicates 0.05 --verify --verify-timeout 900 --json >"$WORK_DIR/load-$port.json" \
    2>"$WORK_DIR/load-$port.err" &
  LOADS+=($!)
done
STARTED=$(date +%s)

# An unfit transfer (no status) every 10 s, each its own, to be dead-lettered as such.
(
  n=0
  while [ $(($(date +%s) - STARTED)) -lt "$DURATION" ]; do
    n=$((n + 1))
    printf '{"id":"unfit-%s","accountId":"acc-1","updateTime":"2023-03-01T08:23:01.000Z"}' "$n" \
      >"$WORK_DIR/unfit.json"
    "$HOOKGATE" send --url "http://127.0.0.1:18291/webhooks/interlace" --file "$WORK_DIR/unfit.json" \
      --event-type TRANSFER.UPDATED --event-id "unfit-$n" --secret "$SECRET" >/dev/null 2>&1 || true
    sleep 10
  done
) &
LOADS+=($!)

fault() {
  case "$1" in
    worker) kill_and_restart work-2 ;;
    broker)
      if [ -n "${SOAK_CLUSTER:-}" ]; then
        bash "$CLUSTER" stop 2
        sleep 10
        bash "$CLUSTER" start 2
      else
        as_root rabbitmqctl -q stop_app
        sleep 10
        as_root rabbitmqctl -q start_app
      fi
      ;;
    receiver) kill_and_restart serve-2 ;;
    postgres)
      if [ -n "${SOAK_FAILOVER:-}" ]; then
        restart_primary
      else
        as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /usr/lib/postgresql | sort -V | tail -n 1)" \
          main restart -m fast
      fi
      ;;
    failover) fail_over crash ;;
    node)
      bash "$CLUSTER" stop 3
      sleep 5
      bash "$CLUSTER" start 3
      ;;
  esac
}

FAULTS=(worker broker receiver postgres)
[ -z "${SOAK_CLUSTER:-}" ] || FAULTS+=(node)
# Last: afterwards the promoted standby has no standby of its own.
[ -z "${SOAK_FAILOVER:-}" ] || FAULTS+=(failover)
WARMUP=$((DURATION / 10 > 300 ? 300 : (DURATION / 10 < 20 ? 20 : DURATION / 10)))
SPACING=$(((DURATION * 85 / 100 - WARMUP) / ${#FAULTS[@]}))
for i in "${!FAULTS[@]}"; do
  at=$((STARTED + WARMUP + i * SPACING))
  now=$(date +%s)
  [ "$now" -ge "$at" ] || sleep $((at - now))
  name=${FAULTS[$i]}
  start=$(date +%s)
  log "fault: $name"
  fault "$name"
  ended=$(date +%s)
  if took=$(python3 "$MONITOR" recovered "$WORK_DIR" "$RATE" "$ended" 2>&1); then
    echo "$name: steady $took s after the fault" | tee -a "$WORK_DIR/recoveries.log" >&2
  else
    echo "$name: not steady within 60 s after the fault" | tee -a "$WORK_DIR/recoveries.log" >&2
  fi
  echo "$name $start $(date +%s)" >>"$WORK_DIR/faults.log"
done

log "faults done; waiting for the load to finish and every accepted event to be verified"
for pid in "${LOADS[@]}"; do wait "$pid" || true; done
LOADS=()
outbox_ids() { psql "$HOOKGATE_DATABASE_URL" -tAc "SELECT notification_id FROM notification_outbox ORDER BY 1"; }
for _ in $(seq 1 300); do
  [ "$(comm -23 <(outbox_ids) <(sort -u "$WORK_DIR/notified.log") | wc -l)" -eq 0 ] && break
  sleep 1
done
kill "$MONITOR_PID" 2>/dev/null || true
MONITOR_PID=""
verdict=0
python3 "$MONITOR" report "$WORK_DIR" "$HOOKGATE_DATABASE_URL" || verdict=$?
stop_processes
if [ -n "$STOP_FAILED" ]; then
  log "a hookgate process did not shut down cleanly"
  verdict=1
fi
[ "$verdict" -eq 0 ] || KEEP_LOGS=yes
exit "$verdict"
