-- The dead-letter queue as an index: one row per (consumer queue, message) in hookgate.dlq,
-- committed only after the broker confirmed the dead letter, so listing and showing read
-- PostgreSQL and never touch the queue. A message that fails again while its row exists is
-- acknowledged without a second copy (the row lock serialises two copies failing at once):
-- each (queue, message) has at most one dead letter. Replay and purge delete the rows of what
-- they take out of the queue.
CREATE TABLE dead_letter_index (
    queue         TEXT        NOT NULL,
    message_id    TEXT        NOT NULL,
    event_id      TEXT        NOT NULL,
    source        TEXT,
    event_type    TEXT,
    family        TEXT,
    attempts      BIGINT      NOT NULL,
    error         TEXT        NOT NULL,
    failed_at     TIMESTAMPTZ NOT NULL,
    headers       JSONB       NOT NULL,
    body          BYTEA       NOT NULL,
    PRIMARY KEY (queue, message_id)
);
CREATE INDEX dead_letter_index_event_id ON dead_letter_index (event_id);
CREATE INDEX dead_letter_index_failed_at ON dead_letter_index (failed_at);
