-- GET /v1/events lists events newest first by time of receipt, (received_at, seq) descending,
-- a keyset page at a time. Each filter has an index that yields that order for its value, so
-- a page reads about `limit` rows whatever the inbox's size, and a from/to range is a range of
-- the same index. Every column here is written once, when the event is stored.
DROP INDEX inbox_events_received_at;
CREATE INDEX inbox_events_received ON inbox_events (received_at, seq);
CREATE INDEX inbox_events_search_type ON inbox_events (event_type, received_at, seq);
CREATE INDEX inbox_events_search_family_status ON inbox_events (family, status, received_at, seq);
CREATE INDEX inbox_events_search_object ON inbox_events (object_id, received_at, seq);
CREATE INDEX inbox_events_search_account ON inbox_events (account_id, received_at, seq);
-- state=dead_lettered: few rows. Set once per dead letter; updates that leave it NULL stay HOT.
CREATE INDEX inbox_events_dead_lettered ON inbox_events (seq) WHERE dead_lettered_at IS NOT NULL;
