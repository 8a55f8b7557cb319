-- GET /v1/events: each filter has an index that also yields the newest first (seq descending),
-- so a page reads about `limit` rows whatever the inbox's size. Every indexed column is
-- written once, when the event is stored.
CREATE INDEX inbox_events_search_type ON inbox_events (event_type, seq);
CREATE INDEX inbox_events_search_family_status ON inbox_events (family, status, seq);
CREATE INDEX inbox_events_search_object ON inbox_events (object_id, seq);
CREATE INDEX inbox_events_search_account ON inbox_events (account_id, seq);
