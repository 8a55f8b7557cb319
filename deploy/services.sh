#!/usr/bin/env bash
# Makes sure PostgreSQL and RabbitMQ run on this machine (installing them with apt-get on
# Debian when absent), and that hookgate's database role and database exist. Also installs
# Chromium and ChromeDriver for the console's browser tests, unless HOOKGATE_SKIP_BROWSER=1
# (the service alone does not need them).
# Idempotent: on a machine where both already run it only checks them.
set -euo pipefail

PG_PORT="${PG_PORT:-5432}"
AMQP_PORT="${AMQP_PORT:-5672}"

log() { printf 'services: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for_port() {
  local port=$1 name=$2
  for _ in $(seq 1 120); do
    port_open "$port" && return 0
    sleep 1
  done
  log "$name did not start listening on port $port"
  return 1
}

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -q
    apt_updated=yes
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

ensure_postgres() {
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing PostgreSQL"
    apt_install postgresql postgresql-client
  fi
  if ! port_open "$PG_PORT"; then
    local version
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$version main$"; then
      as_root pg_createcluster "$version" main
    fi
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    wait_for_port "$PG_PORT" PostgreSQL
  fi
  # The role hookgate connects as; CREATEDB because each test makes its own database.
  local sql="DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hookgate') THEN
        CREATE ROLE hookgate LOGIN PASSWORD 'hookgate' CREATEDB;
      END IF;
    END \$\$;"
  run_psql -c "$sql"
  if [ "$(run_psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'hookgate'")" != "1" ]; then
    run_psql -c "CREATE DATABASE hookgate OWNER hookgate"
  fi
}

# psql as the postgres superuser: over TCP where trust allows it, else through the local socket.
run_psql() {
  if psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -w -c 'SELECT 1' >/dev/null 2>&1; then
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -w -v ON_ERROR_STOP=1 -q "$@"
  else
    as_root runuser -u postgres -- psql -d postgres -v ON_ERROR_STOP=1 -q "$@"
  fi
}

ensure_rabbitmq() {
  if ! command -v rabbitmq-server >/dev/null 2>&1 && [ ! -x /usr/sbin/rabbitmq-server ]; then
    log "installing RabbitMQ"
    apt_install rabbitmq-server
  fi
  if ! port_open "$AMQP_PORT"; then
    log "starting RabbitMQ"
    as_root rabbitmq-server -detached
    wait_for_port "$AMQP_PORT" RabbitMQ
  fi
}

# The console's browser tests drive Debian's headless Chromium through ChromeDriver.
ensure_browser() {
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    log "installing Chromium and ChromeDriver for the console's browser tests"
    apt_install chromium chromium-driver fonts-dejavu-core
  fi
}

ensure_postgres
ensure_rabbitmq
if [ "${HOOKGATE_SKIP_BROWSER:-}" != "1" ]; then ensure_browser; fi
log "PostgreSQL on 127.0.0.1:$PG_PORT and RabbitMQ on 127.0.0.1:$AMQP_PORT are up"
