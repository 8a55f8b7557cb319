#!/usr/bin/env bash
# Times `hookgate rebuild` and `hookgate verify` on a synthetic archive of EVENTS events
# (default 1 000 000: transfers with four events each, skewed by 50 ms), in a scratch database
# that is dropped afterwards, and prints each one's wall time and peak memory.
# Usage: benches/verify.sh [EVENTS]
events="${1:-1000000}"
source "$(dirname "$0")/lib.sh"
command -v /usr/bin/time >/dev/null || { sudo apt-get install -y -q time 2>/dev/null || apt-get install -y -q time; }
scratch_database hookgate_verify_bench
target/release/hookgate migrate
echo "archive: $events events"
psql -q "$HOOKGATE_DATABASE_URL" <<SQL
INSERT INTO inbox_events (source, event_id, event_type, family, status, object_id, account_id,
                          routing_key, occurred_at, resource_raw, content_hash)
SELECT 'interlace', 'bench-' || g, 'TRANSFER.UPDATED', 'transfer', status, 'obj-' || (g / 4),
       'acc-1', 'transfer.' || status, at, convert_to(body, 'UTF8'),
       sha256(convert_to(body, 'UTF8'))
FROM generate_series(0, $events - 1) AS g,
     LATERAL (SELECT (ARRAY['pending', 'closed', 'fail', 'pending'])[1 + g % 4] AS status,
                     timestamptz '2025-01-01 00:00:00+00' + (g / 4) * interval '1 s'
                         + ((g * 7) % 4) * interval '50 ms' AS at) AS e,
     LATERAL (SELECT json_build_object(
                  'id', 'obj-' || (g / 4), 'status', status,
                  'updateTime', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                  'amount', json_build_object('amount', '10.50', 'currency', 'USD'))::text AS body) AS b;
INSERT INTO inbox_dedup (source, event_id, type_key, content_hash, seq)
    SELECT source, event_id, upper(event_type), content_hash, seq FROM inbox_events;
INSERT INTO inbox_published SELECT seq, now() FROM inbox_events;
INSERT INTO inbox_processed SELECT seq, now() - interval '1 day' FROM inbox_events;
VACUUM ANALYZE inbox_events, inbox_dedup, inbox_published, inbox_processed;
SQL
for command in rebuild verify; do
  /usr/bin/time -f "$command: %e s wall, %M KiB peak memory" target/release/hookgate "$command" --json \
    > "/tmp/hookgate-$command.json"
  head -c 200 "/tmp/hookgate-$command.json"; echo
done
