# Sourced by deploy/pg-failover-test.sh and deploy/soak.sh (SOAK_FAILOVER=1): PostgreSQL the
# way users run it, a primary and a synchronous streaming standby (two clusters of Debian's
# PostgreSQL on their own ports and data directories), reached through an address that follows
# the primary (the TCP forwarder deploy/pg-failover/forwarder.py, steered by $WORK_DIR/control).
# The sourcing script sets WORK_DIR, PG_DIR, PRIMARY_PORT, STANDBY_PORT and FORWARD_PORT,
# appends background pids to PIDS, and defines log().

PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
sql() { psql -h 127.0.0.1 -p "$1" -U postgres -d "${3:-postgres}" -tAqc "$2"; }

stop_pair() {
  for dir in primary standby; do
    [ -d "$PG_DIR/$dir" ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/$dir" -m immediate stop >/dev/null 2>&1 || true
  done
  rm -rf "$PG_DIR/primary" "$PG_DIR/standby"
}

# A primary and a synchronous standby, both fresh, and the forwarder pointing at the primary.
start_pair() {
  stop_pair
  # Owned by the user the servers run as; $WORK_DIR must let that user through.
  mkdir -p "$PG_DIR"
  [ "$(id -u)" -ne 0 ] || chown postgres "$PG_DIR"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/primary" -A trust -U postgres >/dev/null
  cat >>"$PG_DIR/primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PRIMARY_PORT
unix_socket_directories = '$PG_DIR'
wal_level = replica
max_wal_senders = 4
max_connections = 200
synchronous_standby_names = 'standby'
EOF
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/primary" -l "$PG_DIR/primary.log" -w start >/dev/null
  as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres \
    -D "$PG_DIR/standby" -R -X stream
  # Later lines win: its own port, its name for synchronous replication, and no synchronous
  # standby of its own once promoted (commits would wait for one for ever).
  cat >>"$PG_DIR/standby/postgresql.auto.conf" <<EOF
port = $STANDBY_PORT
primary_conninfo = 'host=127.0.0.1 port=$PRIMARY_PORT user=postgres application_name=standby'
synchronous_standby_names = ''
EOF
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/standby" -l "$PG_DIR/standby.log" -w start >/dev/null
  local synchronous=""
  for _ in $(seq 1 60); do
    if [ "$(sql "$PRIMARY_PORT" "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'")" = 1 ]; then
      synchronous=yes
      break
    fi
    sleep 0.5
  done
  if [ -z "$synchronous" ]; then
    log "the standby did not become synchronous"
    exit 1
  fi
  echo "$PRIMARY_PORT" >"$WORK_DIR/control"
  python3 deploy/pg-failover/forwarder.py "$FORWARD_PORT" "$WORK_DIR/control" 2>>"$WORK_DIR/forwarder.log" &
  PIDS+=($!)
}

# The primary restarted in place (a fast shutdown, as a package upgrade or a restart does).
restart_primary() {
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/primary" -l "$PG_DIR/primary.log" -m fast -w restart >/dev/null
}

# One failover, `crash`, `switchover` or `blackhole`, ending with the standby promoted and the
# address moved to it:
#   crash       the primary stops with `-m immediate`;
#   switchover  the primary turns read-only with its connections open (25006), then stops;
#   blackhole   every open connection goes silent (no FIN, no RST), then the primary crashes.
fail_over() {
  case "$1" in
    crash)
      as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/primary" -m immediate stop >/dev/null
      ;;
    switchover)
      sql "$PRIMARY_PORT" "ALTER SYSTEM SET default_transaction_read_only = on" >/dev/null
      sql "$PRIMARY_PORT" "SELECT pg_reload_conf()" >/dev/null
      sleep 5
      as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/primary" -m fast stop >/dev/null
      ;;
    blackhole)
      echo "$PRIMARY_PORT blackhole" >"$WORK_DIR/control"
      sleep 1
      as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/primary" -m immediate stop >/dev/null
      ;;
  esac
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/standby" -w promote >/dev/null
  echo "$STANDBY_PORT" >"$WORK_DIR/control"
}
