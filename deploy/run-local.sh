#!/usr/bin/env bash
# Starts hookgate with the local defaults (`hookgate run`), starting PostgreSQL and RabbitMQ
# first when they are not running. Any HOOKGATE_* variable already set is respected.
set -euo pipefail
cd "$(dirname "$0")/.."

HOOKGATE_SKIP_BROWSER=1 bash deploy/services.sh
command -v cargo >/dev/null || { echo "cargo not found: install Rust 1.88 or newer (https://rustup.rs)" >&2; exit 1; }

export HOOKGATE_DATABASE_URL="${HOOKGATE_DATABASE_URL:-postgres://hookgate:hookgate@127.0.0.1:5432/hookgate}"
if [ -z "${HOOKGATE_INTERLACE_SECRETS:-}" ]; then
  export HOOKGATE_INTERLACE_SECRETS="local-dev-secret"
  echo "HOOKGATE_INTERLACE_SECRETS is not set: using the local development secret 'local-dev-secret'" >&2
fi
if [ -z "${HOOKGATE_API_TOKEN:-}" ]; then
  export HOOKGATE_API_TOKEN="local-dev-token"
  echo "HOOKGATE_API_TOKEN is not set: the read and admin API take the local development token 'local-dev-token'" >&2
  echo "  e.g. curl -H 'Authorization: Bearer local-dev-token' http://127.0.0.1:8080/admin/dlq" >&2
fi
cargo build --release --bin hookgate
exec target/release/hookgate run "$@"
