#!/usr/bin/env bash
# hookgate on a real three-node RabbitMQ cluster (deploy/rabbitmq/local-cluster.sh): two
# `serve` and two `work` processes under signed load from two load generators, while the node
# leading the read-model queue is stopped, brought back, and then another node is stopped.
# Afterwards every accepted event is checked in PostgreSQL and every notification at the
# subscriber, and the last line is `lost N, applied twice N, notified twice N`; the script
# fails unless every N is 0.
#
#   CLUSTER_TEST_SECONDS  load duration (default 60)
#   CLUSTER_TEST_RATE     requests per second per load generator (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_OF_LOAD="${CLUSTER_TEST_SECONDS:-60}"
RATE="${CLUSTER_TEST_RATE:-100}"
CLUSTER=deploy/rabbitmq/local-cluster.sh
WORK_DIR="$(mktemp -d /tmp/hookgate-cluster-test.XXXXXX)"
DATABASE="hookgate_cluster_$(date +%s)_$$"
ADMIN_URL="postgres://hookgate:hookgate@127.0.0.1:5432/postgres"
SECRET="cluster-test-secret"
SINK_PORT=18099

log() { printf 'cluster-test: %s\n' "$*" >&2; }

# shellcheck source=deploy/lib/processes.sh
source deploy/lib/processes.sh

cleanup() {
  stop_processes
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DATABASE WITH (FORCE)" >/dev/null 2>&1 || true
  bash "$CLUSTER" down || true
  if [ -n "$KEEP_LOGS" ]; then log "logs kept in $WORK_DIR"; else rm -rf "$WORK_DIR"; fi
}
trap cleanup EXIT

HOOKGATE_SKIP_BROWSER=1 bash deploy/services.sh
command -v python3 >/dev/null || { log "python3 is needed for the subscriber"; exit 1; }
cargo build --locked --bin hookgate
HOOKGATE=target/debug/hookgate

# A fresh cluster and database, so nothing from an earlier run is counted.
bash "$CLUSTER" down
bash "$CLUSTER" up
psql "$ADMIN_URL" -qc "CREATE DATABASE $DATABASE"

node_url() { echo "amqp://guest:guest@127.0.0.1:$((5680 + $1))/%2f"; }
export HOOKGATE_DATABASE_URL="postgres://hookgate:hookgate@127.0.0.1:5432/$DATABASE"
export HOOKGATE_INTERLACE_SECRETS="$SECRET"
"$HOOKGATE" migrate

start_sink "$SINK_PORT"

# Each process lists the nodes starting from a different one, so connections are spread.
start_process() {
  local role=$1 port=$2 first=$3
  local second=$((first % 3 + 1)) third=$(((first + 1) % 3 + 1))
  HOOKGATE_LISTEN="127.0.0.1:$port" \
    HOOKGATE_AMQP_URL="$(node_url "$first"),$(node_url "$second"),$(node_url "$third")" \
    "$HOOKGATE" "$role" --no-migrate >"$WORK_DIR/$role-$port.log" 2>&1 &
  PIDS+=($!)
  HOOKGATE_PIDS+=($!)
}
start_process serve 18091 1
start_process serve 18092 2
start_process work 18093 3
start_process work 18094 1

for port in 18091 18092 18093 18094; do wait_ready "$port"; done

LOADS=()
for port in 18091 18092; do
  "$HOOKGATE" bench --url "http://127.0.0.1:$port/webhooks/interlace" --secret "$SECRET" \
    --connections 8 --rate "$RATE" --duration "$SECONDS_OF_LOAD" --out-of-order 0.1 \
    --duplicates 0.05 --verify --verify-timeout 600 --json >"$WORK_DIR/load-$port.json" \
    2>"$WORK_DIR/load-$port.err" &
  LOADS+=($!)
done

leader_of_read_model() {
  for n in 1 2 3; do
    if leader=$(rabbitmqctl -q -n "hg$n@localhost" list_queues name leader 2>/dev/null |
      awk '$1 == "hookgate.read-model" { print $2 }') && [ -n "$leader" ]; then
      echo "$leader" | sed -E 's/^hg([0-9])@.*/\1/'
      return 0
    fi
  done
  return 1
}

step() { sleep "$(awk "BEGIN { print $SECONDS_OF_LOAD * $1 }")"; }
step 0.2
first=$(leader_of_read_model)
log "stopping hg$first, which leads hookgate.read-model"
bash "$CLUSTER" stop "$first"
step 0.25
bash "$CLUSTER" start "$first"
step 0.15
second=$(leader_of_read_model)
if [ "$second" = "$first" ]; then second=$((first % 3 + 1)); fi
log "stopping hg$second"
bash "$CLUSTER" stop "$second"
step 0.25
bash "$CLUSTER" start "$second"

log "load finished; waiting for every accepted event to be processed"
for pid in "${LOADS[@]}"; do wait "$pid" || true; done

# Every notification hookgate wrote, delivered to the sink: wait until the outbox is empty
# and the sink has every id, or give up after ten minutes.
outbox_ids() {
  psql "$HOOKGATE_DATABASE_URL" -tAc "SELECT notification_id FROM notification_outbox ORDER BY 1"
}
for _ in $(seq 1 600); do
  missing=$(comm -23 <(outbox_ids) <(sort -u "$WORK_DIR/notified.log") | wc -l)
  [ "$missing" -eq 0 ] && break
  sleep 1
done

report=$(python3 - "$WORK_DIR" "$missing" <<'EOF'
import pathlib, sys
sys.path.insert(0, "deploy/lib")
from totals import deliveries, load_totals
work, missing = pathlib.Path(sys.argv[1]), int(sys.argv[2])
accepted, lost, applied_twice, problems = load_totals(work)
if problems:
    sys.exit("; ".join(problems))
delivered = deliveries(work)
notified_twice = sum(1 for count in delivered.values() if count > 1)
print(f"accepted {accepted}, notifications {len(delivered)}, notifications never delivered {missing}", file=sys.stderr)
print(f"lost {lost + missing}, applied twice {applied_twice}, notified twice {notified_twice}")
EOF
)
echo "$report"
[ "$report" = "lost 0, applied twice 0, notified twice 0" ] || KEEP_LOGS=yes
stop_processes
if [ -n "$STOP_FAILED" ]; then
  log "a hookgate process did not shut down cleanly"
  exit 1
fi
[ "$report" = "lost 0, applied twice 0, notified twice 0" ]
