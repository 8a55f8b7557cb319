#!/usr/bin/env bash
# A real three-node RabbitMQ cluster on this machine, from the installed rabbitmq-server:
# nodes hg1..hg3@localhost on AMQP ports 5681-5683, each with its own data folder under
# $HOOKGATE_CLUSTER_DIR (default /tmp/hookgate-cluster). It leaves the machine's own broker
# (rabbit@localhost, port 5672) alone.
#
#   local-cluster.sh up        start the three nodes and join them (idempotent)
#   local-cluster.sh down      stop every node and delete their data
#   local-cluster.sh stop N    stop node hgN (its data is kept)
#   local-cluster.sh start N   start node hgN again; it rejoins the cluster
#   local-cluster.sh status    the running nodes, as node 1..3 sees them
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
DIR="${HOOKGATE_CLUSTER_DIR:-/tmp/hookgate-cluster}"
NODES=(1 2 3)

log() { printf 'local-cluster: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

node() { echo "hg$1@localhost"; }
port() { echo $((5680 + $1)); }

# Debian's wrappers run RabbitMQ as the rabbitmq user, with its Erlang cookie, so every
# node and every rabbitmqctl call share one cookie.
ctl() {
  local n=$1
  shift
  as_root rabbitmqctl -q -n "$(node "$n")" "$@"
}

running() { ctl "$1" ping >/dev/null 2>&1; }

# The node's own environment: its name, ports, data and configuration, and no plugins (so no
# management listener competes for the machine broker's port).
node_env() {
  local n=$1 home="$DIR/hg$1"
  echo RABBITMQ_NODENAME="$(node "$n")" \
    RABBITMQ_NODE_PORT="$(port "$n")" \
    RABBITMQ_DIST_PORT=$((25680 + n)) \
    RABBITMQ_CONF_ENV_FILE="$home/rabbitmq-env.conf" \
    RABBITMQ_CONFIG_FILE="$home/rabbitmq.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$home/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$home/data" \
    RABBITMQ_LOG_BASE="$home/log" \
    RABBITMQ_PID_FILE="$home/pid"
}

prepare() {
  local n=$1 home="$DIR/hg$1"
  as_root install -d -o rabbitmq -g rabbitmq "$DIR" "$home" "$home/data" "$home/log"
  printf 'ERL_EPMD_ADDRESS=127.0.0.1\n' | as_root tee "$home/rabbitmq-env.conf" >/dev/null
  printf '[].\n' | as_root tee "$home/enabled_plugins" >/dev/null
  sed "s/@PORT@/$(port "$n")/" "$HERE/cluster.conf" | as_root tee "$home/rabbitmq.conf" >/dev/null
  as_root chown rabbitmq:rabbitmq "$home"/*.conf "$home/enabled_plugins"
}

start_node() {
  local n=$1
  if running "$n"; then
    return 0
  fi
  command -v rabbitmq-server >/dev/null || [ -x /usr/sbin/rabbitmq-server ] || {
    log "rabbitmq-server is not installed: run deploy/services.sh first"
    exit 1
  }
  prepare "$n"
  log "starting $(node "$n") on port $(port "$n")"
  # shellcheck disable=SC2046 # node_env prints NAME=value words on purpose.
  as_root env $(node_env "$n") rabbitmq-server -detached
  ctl "$n" wait --timeout 120 "$DIR/hg$n/pid" >/dev/null
}

joined() {
  ctl "$1" cluster_status --formatter json 2>/dev/null | grep -q "\"$(node 1)\""
}

join_node() {
  local n=$1
  if joined "$n"; then
    return 0
  fi
  log "joining $(node "$n") to $(node 1)"
  ctl "$n" stop_app
  ctl "$n" join_cluster "$(node 1)"
  ctl "$n" start_app
}

up() {
  for n in "${NODES[@]}"; do start_node "$n"; done
  for n in 2 3; do join_node "$n"; done
  # The policies of deploy/rabbitmq/definitions.json, so the cluster runs as deployed. Copied
  # into the node's folder first: rabbitmqctl runs as the rabbitmq user, who may not be able
  # to read the checkout (and this rabbitmqctl does not read definitions from stdin).
  as_root install -m 0644 -o rabbitmq -g rabbitmq "$HERE/definitions.json" "$DIR/definitions.json"
  ctl 1 import_definitions "$DIR/definitions.json" >/dev/null
  log "up: $(node 1), $(node 2), $(node 3) on ports $(port 1)-$(port 3)"
}

stop() {
  local n=$1
  if running "$n"; then
    log "stopping $(node "$n")"
    ctl "$n" shutdown >/dev/null
  fi
}

down() {
  for n in 3 2 1; do stop "$n"; done
  as_root rm -rf "$DIR"
  log "down: nodes stopped, $DIR removed"
}

status() {
  for n in "${NODES[@]}"; do
    if running "$n"; then
      ctl "$n" cluster_status --formatter json | tr -d '\n' |
        sed -E 's/.*"running_nodes":\[([^]]*)\].*/\1/' |
        xargs printf "$(node "$n") running; sees: %s\n"
      return 0
    fi
  done
  echo "no node is running"
}

check_index() {
  case "${1:-}" in
    1 | 2 | 3) ;;
    *) log "N must be 1, 2 or 3"; exit 2 ;;
  esac
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  stop) check_index "${2:-}"; stop "$2" ;;
  start) check_index "${2:-}"; start_node "$2" ;;
  status) status ;;
  *)
    echo "usage: $0 up|down|stop N|start N|status" >&2
    exit 2
    ;;
esac
