-- The events waiting for the relay move out of the inbox into a narrow table of their own.
-- The inbox's partial index on `published_at IS NULL` made every publish a non-HOT update
-- that wrote a new entry into each of the inbox's indexes; with no index on `published_at`
-- (and room left on each page by the fillfactor) marking an event published is a HOT update,
-- and the relay finds its work in a table as small as its backlog.
CREATE TABLE event_outbox (
    seq BIGINT PRIMARY KEY
);
INSERT INTO event_outbox (seq)
    SELECT seq FROM inbox_events WHERE published_at IS NULL AND parked_at IS NULL;

-- Every inbox insert, whoever makes it, queues its unpublished rows: one set-based insert per
-- statement, from the rows the statement actually inserted (a conflict inserts nothing).
CREATE FUNCTION inbox_events_queue_for_relay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_outbox (seq)
        SELECT seq FROM inserted WHERE published_at IS NULL AND parked_at IS NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER inbox_events_queue_for_relay AFTER INSERT ON inbox_events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_events_queue_for_relay();

DROP INDEX inbox_events_unpublished;
-- Room on each page for the row's next version, so the publish and processing updates can
-- stay on the page (HOT).
ALTER TABLE inbox_events SET (fillfactor = 80);
