#!/usr/bin/env bash
# hookgate through a PostgreSQL failover, the way users run PostgreSQL: a primary and a
# synchronous streaming standby (two clusters of Debian's PostgreSQL on their own ports and
# data directories), reached through an address that follows the primary (the TCP forwarder
# deploy/pg-failover/forwarder.py). One `serve` and one `work` process run under signed load
# with an HTTP subscriber while, in turn:
#   crash       the primary stops with `-m immediate`, the standby is promoted, the address moves;
#   switchover  the primary turns read-only with its connections open (25006), then stops, the
#               standby is promoted and the address moves;
#   blackhole   every open connection goes silent (no FIN, no RST), the primary crashes, the
#               standby is promoted and the address moves.
# Each case ends with one line `<case>: lost N, applied twice N, notified twice N, dead-lettered
# N` and the seconds from the move until events were published, projected and notified again;
# the script fails unless every N is 0 and every stage moved again within 30 s.
#
#   PG_FAILOVER_SECONDS  load per case (default 60)
#   PG_FAILOVER_RATE     requests per second (default 150)
#   PG_FAILOVER_CASES    the cases to run (default "crash switchover blackhole")
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_OF_LOAD="${PG_FAILOVER_SECONDS:-60}"
RATE="${PG_FAILOVER_RATE:-150}"
CASES="${PG_FAILOVER_CASES:-crash switchover blackhole}"
WORK_DIR="$(mktemp -d /tmp/hookgate-pg-failover.XXXXXX)"
chmod 755 "$WORK_DIR"
# The clusters' data, logs and sockets (deploy/lib/pg_pair.sh).
PG_DIR="$WORK_DIR/pg"
FORWARD_PORT=55430
PRIMARY_PORT=55431
STANDBY_PORT=55432
SINK_PORT=18199
SERVE_PORT=18191
WORK_PORT=18192
SECRET="pg-failover-secret"

log() { printf 'pg-failover: %s\n' "$*" >&2; }

HOOKGATE_SKIP_BROWSER=1 bash deploy/services.sh
# shellcheck source=deploy/lib/processes.sh
source deploy/lib/processes.sh
# shellcheck source=deploy/lib/pg_pair.sh
source deploy/lib/pg_pair.sh
FAILED=""

# The case's queues, so runs do not pile up on the shared broker (exchanges hold nothing).
drop_topology() {
  command -v rabbitmqctl >/dev/null || return 0
  rabbitmqctl -q list_queues name 2>/dev/null | grep "^$1\." | while read -r queue; do
    rabbitmqctl -q delete_queue "$queue" >/dev/null 2>&1 || true
  done
}

cleanup() {
  stop_processes
  stop_pair
  if [ -n "$KEEP_LOGS" ]; then log "logs kept in $WORK_DIR"; else rm -rf "$WORK_DIR"; fi
}
trap cleanup EXIT

cargo build --locked --bin hookgate
HOOKGATE=target/debug/hookgate

run_case() {
  local name=$1 prefix="pgfo_${1}_$$"
  log "case $name: $RATE requests/s for $SECONDS_OF_LOAD s"
  start_pair
  sql "$PRIMARY_PORT" "CREATE DATABASE hookgate" >/dev/null
  export HOOKGATE_DATABASE_URL="postgres://postgres@127.0.0.1:$FORWARD_PORT/hookgate"
  export HOOKGATE_AMQP_PREFIX="$prefix"
  export HOOKGATE_INTERLACE_SECRETS="$SECRET"
  export HOOKGATE_RETRY_TIERS="1s,5s,10s,30s,1m"
  "$HOOKGATE" migrate
  start_sink "$SINK_PORT"
  for role_port in "serve $SERVE_PORT" "work $WORK_PORT"; do
    set -- $role_port
    HOOKGATE_LISTEN="127.0.0.1:$2" "$HOOKGATE" "$1" --no-migrate >"$WORK_DIR/$name-$1-$2.log" 2>&1 &
    PIDS+=($!)
    HOOKGATE_PIDS+=($!)
  done
  wait_ready "$SERVE_PORT"
  wait_ready "$WORK_PORT"

  "$HOOKGATE" bench --url "http://127.0.0.1:$SERVE_PORT/webhooks/interlace" --secret "$SECRET" \
    --connections 8 --rate "$RATE" --duration "$SECONDS_OF_LOAD" --out-of-order 0.1 \
    --duplicates 0.05 --verify --verify-timeout 300 --json >"$WORK_DIR/load.json" \
    2>"$WORK_DIR/load.err" &
  local load=$!
  sleep "$(awk "BEGIN { print $SECONDS_OF_LOAD * 0.3 }")"
  log "case $name: fault"
  fail_over "$name"
  local moved
  moved="$(date -u '+%Y-%m-%d %H:%M:%S.%N+00')"
  wait "$load" || true

  local outbox_ids missing=0
  for _ in $(seq 1 300); do
    outbox_ids=$(sql "$STANDBY_PORT" "SELECT notification_id FROM notification_outbox ORDER BY 1" hookgate)
    missing=$(comm -23 <(echo "$outbox_ids" | sed '/^$/d') <(sort -u "$WORK_DIR/notified.log" 2>/dev/null) | wc -l)
    [ "$missing" -eq 0 ] && break
    sleep 1
  done
  local dead
  dead=$(sql "$STANDBY_PORT" "SELECT (SELECT count(*) FROM inbox_events WHERE dead_lettered_at IS NOT NULL) + (SELECT count(*) FROM dead_letter_index)" hookgate)
  local again
  again=$(sql "$STANDBY_PORT" "SELECT concat_ws(' ',
      COALESCE(round(EXTRACT(EPOCH FROM (SELECT min(published_at) FROM inbox_published WHERE published_at > '$moved') - '$moved'::timestamptz), 1)::text, 'never'),
      COALESCE(round(EXTRACT(EPOCH FROM (SELECT min(processed_at) FROM inbox_processed WHERE processed_at > '$moved') - '$moved'::timestamptz), 1)::text, 'never'),
      COALESCE(round(EXTRACT(EPOCH FROM (SELECT min(delivered_at) FROM notification_deliveries WHERE delivered_at > '$moved') - '$moved'::timestamptz), 1)::text, 'never'))" hookgate)
  local report
  report=$(python3 - "$WORK_DIR" "$missing" "$dead" "$name" $again <<'EOF'
import collections, json, pathlib, sys
work, missing, dead, name = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
published, processed, notified = sys.argv[5:8]
text = (work / "load.json").read_text().strip()
if not text:
    sys.exit(f"the load generator printed nothing; see {work / 'load.err'}")
run = json.loads(text)
deliveries = collections.Counter((work / "notified.log").read_text().split())
twice = sum(1 for count in deliveries.values() if count > 1)
print(f"{name}: accepted {run['load']['accepted']}, statuses {run['load'].get('statusCounts')}, "
      f"notifications {len(deliveries)}; after the move, published again in {published} s, "
      f"projected in {processed} s, notified in {notified} s", file=sys.stderr)
lost = run["endToEnd"]["lost"] + missing
slow = [s for s in (published, processed, notified) if s == "never" or float(s) > 30]
print(f"{name}: lost {lost}, applied twice {run['endToEnd']['appliedTwice']}, notified twice {twice}, "
      f"dead-lettered {dead}{', a stage took over 30 s' if slow else ''}")
EOF
  )
  echo "$report"
  case "$report" in
    *"lost 0, applied twice 0, notified twice 0, dead-lettered 0") ;;
    *) FAILED=yes; KEEP_LOGS=yes ;;
  esac
  stop_processes
  drop_topology "$prefix"
}

for name in $CASES; do run_case "$name"; done
if [ -n "$FAILED" ] || [ -n "$STOP_FAILED" ]; then
  log "failed; logs kept"
  exit 1
fi
