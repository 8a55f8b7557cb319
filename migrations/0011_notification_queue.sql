-- The notification outbox row is written once too, as the inbox's is since 0010: the relay's
-- work is queued in a narrow table, deleted a batch per statement after the broker confirms,
-- and the publish time is appended beside the row. The mark no longer rewrites the row and
-- its indexes (it could not be HOT: `published_at` was in the partial index's predicate).
CREATE TABLE notification_unpublished (
    seq        BIGINT PRIMARY KEY,                 -- notification_outbox.seq
    parked_at  TIMESTAMPTZ,
    park_error TEXT
);
CREATE TABLE notification_published (
    seq          BIGINT PRIMARY KEY,
    published_at TIMESTAMPTZ NOT NULL
);

INSERT INTO notification_unpublished (seq, parked_at, park_error)
    SELECT seq, parked_at, park_error FROM notification_outbox WHERE published_at IS NULL;
INSERT INTO notification_published (seq, published_at)
    SELECT seq, published_at FROM notification_outbox WHERE published_at IS NOT NULL;

DROP INDEX notification_outbox_unpublished;
ALTER TABLE notification_outbox
    DROP COLUMN published_at,
    DROP COLUMN parked_at,
    DROP COLUMN park_error;
