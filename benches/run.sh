#!/usr/bin/env bash
# Measures the machine's ceilings and hookgate against them (see benches/ceilings/main.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/services.sh
export HOOKGATE_TEST_DATABASE_URL="${HOOKGATE_TEST_DATABASE_URL:-postgres://hookgate:hookgate@127.0.0.1:5432/postgres}"
export HOOKGATE_TEST_AMQP_URL="${HOOKGATE_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
cargo bench --bench ceilings
