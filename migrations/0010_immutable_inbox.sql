-- The inbox row is written once. Where an event is in its life moves into four narrow tables
-- beside it, so that publishing and processing no longer rewrite the wide row and its dozen
-- indexes (neither update could be HOT: both columns were in an index predicate).
--
-- Two small queues hold what still has to happen: a row is inserted with the event and
-- deleted, a batch per statement, when it has happened. Their size is the backlog, whatever
-- the inbox's size, so the relay's claim, the backlog metrics and the state filters read them
-- instead of scanning the inbox.
CREATE TABLE inbox_unpublished (
    seq        BIGINT PRIMARY KEY,                 -- inbox_events.seq
    parked_at  TIMESTAMPTZ,                        -- set aside by the relay, with its reason
    park_error TEXT
);
CREATE TABLE inbox_unprocessed (
    seq BIGINT PRIMARY KEY
);
-- Two append-only records keep when each happened, for the event API and the metrics. Neither
-- row changes once written, so its index on the time never makes an update non-HOT.
CREATE TABLE inbox_published (
    seq          BIGINT PRIMARY KEY,
    published_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE inbox_processed (
    seq          BIGINT PRIMARY KEY,
    processed_at TIMESTAMPTZ NOT NULL
);
-- `status` shows the latest processed event.
CREATE INDEX inbox_processed_at ON inbox_processed (processed_at);

INSERT INTO inbox_unpublished (seq, parked_at, park_error)
    SELECT seq, parked_at, park_error FROM inbox_events WHERE published_at IS NULL;
INSERT INTO inbox_unprocessed (seq)
    SELECT seq FROM inbox_events WHERE processed_at IS NULL;
INSERT INTO inbox_published (seq, published_at)
    SELECT seq, published_at FROM inbox_events WHERE published_at IS NOT NULL;
INSERT INTO inbox_processed (seq, processed_at)
    SELECT seq, processed_at FROM inbox_events WHERE processed_at IS NOT NULL;

DROP INDEX inbox_events_unpublished;
ALTER TABLE inbox_events
    DROP COLUMN published_at,
    DROP COLUMN processed_at,
    DROP COLUMN parked_at,
    DROP COLUMN park_error;
