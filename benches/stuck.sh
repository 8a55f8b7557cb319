#!/usr/bin/env bash
# The stuck-object watch on a large read model: loads OBJECTS transfers (default 1 000 000; one
# in 100 still pending, the rest closed, their last events spread over a year) into a scratch
# database that is dropped afterwards, lets `hookgate migrate` build the partial index
# `transfers_stuck`, prints PostgreSQL's plan and timing of a page of `GET /v1/stuck` and of
# the gauge's count, then times `hookgate stuck` walking every page.
# Usage: benches/stuck.sh [OBJECTS]
objects="${1:-1000000}"
source "$(dirname "$0")/lib.sh"
scratch_database hookgate_stuck_bench
target/release/hookgate migrate >/dev/null
psql -q "$HOOKGATE_DATABASE_URL" <<SQL
DROP INDEX transfers_stuck;
INSERT INTO transfers (object_id, account_id, status, occurred_at, last_event_id, last_source, updated_at)
SELECT 't-' || g, 'acc-' || (g % 1000), CASE WHEN g % 100 = 0 THEN 'pending' ELSE 'closed' END,
       now() - (g % 525600) * interval '1 minute', 'evt-' || g, 'interlace', now()
FROM generate_series(1, $objects) AS g;
ANALYZE transfers;
SQL
echo "transfers: $objects objects, $((objects / 100)) pending"
start=$(date +%s.%N)
target/release/hookgate migrate >/dev/null
echo "index build (CONCURRENTLY, by hookgate migrate): $(echo "$(date +%s.%N) - $start" | bc) s"
# The statements of store/stuck.rs, for transfers with the default 24 h threshold.
psql -q "$HOOKGATE_DATABASE_URL" <<'SQL'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT object_id, status, account_id, occurred_at, last_event_id FROM transfers
WHERE status NOT IN ('closed', 'fail') AND occurred_at < now() - interval '24 hours'
  AND (NULL::timestamptz IS NULL OR (occurred_at, object_id) > (NULL, NULL))
ORDER BY occurred_at, object_id LIMIT 100;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT count(*) FROM transfers
WHERE status NOT IN ('closed', 'fail') AND occurred_at < now() - interval '24 hours';
SQL
start=$(date +%s.%N)
listed=$(target/release/hookgate stuck --family transfer --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "hookgate stuck --family transfer: $listed objects in $(echo "$(date +%s.%N) - $start" | bc) s"
