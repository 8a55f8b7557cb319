#!/usr/bin/env bash
# Profiles PostgreSQL's side of hookgate end to end: starts a private PostgreSQL server (same
# version, default settings, durable: fsync and synchronous commit on) with
# pg_stat_statements loaded, runs the end-to-end measurement of benches/ceilings against it,
# and prints the CPU per event of each part, the statements by time with their WAL per event,
# and the row writes per table. With HOOKGATE_BENCH_PRELOAD=N it profiles instead the growth
# mode's two accept measurements (an empty inbox, then one holding N events). The server and
# its data are removed when it ends. PROFILE_PG_OPTIONS adds server settings (`-c name=value`
# ...), to measure what a tuned server changes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/services.sh

PROFILE_PORT="${PROFILE_PORT:-5499}"
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
data=$(mktemp -d /tmp/hookgate-pgprofile.XXXXXX)
chmod 755 "$data"
# PostgreSQL refuses to run as root.
run_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" -eq 0 ] && chown postgres "$data"
stop() {
  run_pg "$bin/pg_ctl" -D "$data/db" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$data"
}
trap stop EXIT

run_pg "$bin/initdb" -D "$data/db" -U postgres --auth=trust >/dev/null
run_pg "$bin/pg_ctl" -D "$data/db" -l "$data/server.log" -w start -o "\
  -p $PROFILE_PORT -k $data -c listen_addresses=127.0.0.1 -c max_connections=200 \
  -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all \
  -c pg_stat_statements.max=1000 -c track_io_timing=on ${PROFILE_PG_OPTIONS:-}" >/dev/null

export HOOKGATE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PROFILE_PORT/postgres"
export HOOKGATE_TEST_AMQP_URL="${HOOKGATE_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
export HOOKGATE_BENCH_STATEMENTS=1
cargo bench --bench ceilings
