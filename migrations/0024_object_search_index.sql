-- The event search by objectId walks inbox_events_object (family, object_id, seq), which the
-- object timeline and `verify` walk too, naming every family when the request names none
-- (store/event_search.rs). The search's own (object_id, received_at, seq) index was the same
-- lookup a second time: one index entry fewer for every stored event (docs/performance.md).
-- Dropping a partitioned index takes the inbox's lock for a moment; a migration that cannot
-- have it within the timeout fails and is run again, instead of holding inserts behind it.
SET LOCAL lock_timeout = '5s';
DROP INDEX IF EXISTS inbox_events_search_object;
