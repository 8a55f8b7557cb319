# Shared by the bench scripts: the services up, a release build, and a scratch database that
# is dropped when the script exits. Source it, then call `scratch_database NAME`: it exports
# HOOKGATE_DATABASE_URL, creates the database and sets the EXIT trap (`on_exit` runs first).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash deploy/services.sh
cargo build --release --locked --bin hookgate
admin="postgres://hookgate:hookgate@127.0.0.1:5432/postgres"
on_exit() { :; }

scratch_database() {
  database="$1_$$"
  export HOOKGATE_DATABASE_URL="postgres://hookgate:hookgate@127.0.0.1:5432/$database"
  psql -q "$admin" -c "CREATE DATABASE $database"
  trap 'on_exit; psql -q "$admin" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)"' EXIT
}
