-- Events the read-model worker has not processed yet, in a narrow table of their own, for the
-- same reason as `event_outbox`: the partial index on `processed_at IS NULL` made every
-- processing claim a non-HOT update that wrote a new entry into each of the inbox's indexes.
-- The worker's exactly-once claim is now the deletion of the event's row here.
CREATE TABLE unprocessed_events (
    seq BIGINT PRIMARY KEY
);
INSERT INTO unprocessed_events (seq)
    SELECT seq FROM inbox_events WHERE processed_at IS NULL;

CREATE OR REPLACE FUNCTION inbox_events_queue_for_relay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_outbox (seq)
        SELECT seq FROM inserted WHERE published_at IS NULL AND parked_at IS NULL;
    INSERT INTO unprocessed_events (seq)
        SELECT seq FROM inserted WHERE processed_at IS NULL;
    RETURN NULL;
END $$;

DROP INDEX inbox_events_unprocessed;
