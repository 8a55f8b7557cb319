#!/usr/bin/env bash
# GET /v1/events on a large inbox: loads EVENTS synthetic events (default 10 000 000: twelve
# families, 1 000 accounts, four events per object, one in 10 000 dead-lettered) into a scratch
# database that is dropped afterwards, prints PostgreSQL's plan and timing of the query each
# filter makes, then times the HTTP requests against `hookgate serve`.
# Usage: benches/event_search.sh [EVENTS]
events="${1:-10000000}"
source "$(dirname "$0")/lib.sh"
export HOOKGATE_API_TOKEN="search-bench"
export HOOKGATE_LISTEN="127.0.0.1:18111"
export HOOKGATE_AMQP_PREFIX="hookgate_search_bench_$$"
server=""
on_exit() {
  [ -z "$server" ] || kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
}
scratch_database hookgate_search_bench
target/release/hookgate migrate >/dev/null
echo "inbox: $events events"
start=$(date +%s)
psql -q "$HOOKGATE_DATABASE_URL" <<SQL
INSERT INTO inbox_events (source, event_id, event_type, family, status, object_id, account_id,
                          routing_key, occurred_at, received_at, resource_raw, content_hash, dead_lettered_at, error)
SELECT 'interlace', 'evt-' || g, upper(family) || '.UPDATED', family, status,
       family || '-' || (g / 4), 'acc-' || (g % 1000), family || '.' || status, at,
       at + interval '1 s', convert_to(body, 'UTF8'), sha256(convert_to(body, 'UTF8')),
       CASE WHEN g % 10000 = 7 THEN at + interval '3 s' END,
       CASE WHEN g % 10000 = 7 THEN 'resource does not fit' END
FROM generate_series(0, $events - 1) AS g,
     LATERAL (SELECT (ARRAY['transfer', 'card_transaction', 'budget_transaction', 'kyc', 'kyb',
                            'face_authentication', 'payout', 'crypto_deposit', 'crypto_withdrawal',
                            'global_account_transaction', 'card', 'account'])[1 + (g / 4) % 12] AS family,
                     (ARRAY['pending', 'processing', 'closed', 'closed'])[1 + g % 4] AS status,
                     timestamptz '2025-01-01 00:00:00+00' + g * interval '100 ms' AS at) AS e,
     LATERAL (SELECT json_build_object('id', family || '-' || (g / 4), 'status', status,
                  'accountId', 'acc-' || (g % 1000))::text AS body) AS b;
INSERT INTO inbox_dedup (source, event_id, type_key, content_hash, seq)
    SELECT source, event_id, upper(event_type), content_hash, seq FROM inbox_events;
INSERT INTO inbox_published SELECT seq, received_at FROM inbox_events;
INSERT INTO inbox_processed SELECT seq, received_at + interval '1 s' FROM inbox_events;
VACUUM ANALYZE inbox_events, inbox_dedup, inbox_published, inbox_processed;
SQL
echo "loaded in $(( $(date +%s) - start )) s"

# The statements GET /v1/events makes (store/event_search.rs), with the predicates each filter adds.
columns="seq, event_id, source, event_type, routing_key, received_at, published_at, processed_at,
         dead_lettered_at, COALESCE(error, parse_error) AS error, family, status, object_id, account_id"
state="CASE WHEN dead_lettered_at IS NOT NULL AND (processed_at IS NULL OR dead_lettered_at > processed_at)
            THEN 'dead_lettered' WHEN processed_at IS NOT NULL THEN 'processed'
            WHEN published_at IS NOT NULL THEN 'published' ELSE 'received' END"
middle=$(( events / 2 ))
# received_at of event g is 2025-01-01 + g × 100 ms + 1 s.
at_middle="timestamptz '2025-01-01' + interval '$(( middle / 10 )) s'"
declare -a cases=(
  "newest|true"
  "objectId|object_id = 'transfer-$(( middle / 4 / 12 * 12 ))'"
  "accountId|account_id = 'acc-42'"
  "family+status|family = 'payout' AND status = 'closed'"
  "eventType|event_type = 'KYC.UPDATED'"
  "from/to (one hour, mid-archive)|received_at >= $at_middle AND received_at < $at_middle + interval '1 h'"
  "deep page (cursor mid-archive)|(received_at, seq) < ($at_middle, $middle)"
  "accountId, deep page|account_id = 'acc-42' AND (received_at, seq) < ($at_middle, $middle)"
  "state=dead_lettered|dead_lettered_at IS NOT NULL AND ($state) = 'dead_lettered'"
)
for case in "${cases[@]}"; do
  name="${case%%|*}"
  where="${case#*|}"
  echo
  echo "== $name"
  psql -q -X "$HOOKGATE_DATABASE_URL" -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
    SELECT $columns, ($state) AS state
    FROM inbox_events LEFT JOIN inbox_published USING (seq) LEFT JOIN inbox_processed USING (seq)
    WHERE $where
    ORDER BY received_at DESC, seq DESC LIMIT 50" | grep -v '^$'
done

echo
echo "== HTTP, median of 20 requests each (hookgate serve, release build)"
HOOKGATE_INTERLACE_SECRETS=x target/release/hookgate serve --no-migrate >/dev/null 2>&1 &
server=$!
for _ in $(seq 1 50); do curl -fs "http://$HOOKGATE_LISTEN/healthz" >/dev/null && break; sleep 0.2; done
for query in "" "objectId=transfer-$(( middle / 4 / 12 * 12 ))" "accountId=acc-42" \
             "family=payout&status=closed" "eventType=KYC.UPDATED" "state=dead_lettered" \
             "from=2025-01-07T00:00:00Z&to=2025-01-07T01:00:00Z"; do
  times=$(for _ in $(seq 1 20); do
    curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $HOOKGATE_API_TOKEN" \
      "http://$HOOKGATE_LISTEN/v1/events?$query"
  done | sort -n | sed -n 10p)
  printf '  /v1/events?%-40s %s s\n' "$query" "$times"
done
