#!/usr/bin/env bash
# The whole check: services up, formatting, lints, the deployment files, then every test
# against the real PostgreSQL and RabbitMQ (the broker-restart test runs last, alone), then
# the three-node cluster test, the PostgreSQL failover test and a three-minute soak.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/services.sh
command -v cargo >/dev/null || { echo "cargo not found: install Rust 1.88 or newer (https://rustup.rs)" >&2; exit 1; }

export HOOKGATE_TEST_DATABASE_URL="${HOOKGATE_TEST_DATABASE_URL:-postgres://hookgate:hookgate@127.0.0.1:5432/postgres}"
export HOOKGATE_TEST_AMQP_URL="${HOOKGATE_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"

cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
bash deploy/validate.sh
cargo test --locked
bash deploy/cluster-test.sh
# The short version of the PostgreSQL failover test; the full one is the script's default.
PG_FAILOVER_SECONDS=20 PG_FAILOVER_RATE=50 bash deploy/pg-failover-test.sh
# The short version of the soak (faults on a schedule under load); the full one is an hour.
bash deploy/soak.sh 3
