-- Messages moved to a retry tier, until they come back. RabbitMQ hands an expired retry back
-- to its work queue at most once: when that queue has no leader at the moment (a broker
-- restart, a lost node) the message is dropped. A copy of each retried message waits here
-- until it is handled again, and is published again if it is overdue. Only retried messages
-- are written; a message handled the first time costs nothing here.
CREATE TABLE retry_watch (
    queue       TEXT        NOT NULL,
    source      TEXT        NOT NULL,   -- x-source: event ids are unique per source only
    message_id  TEXT        NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL,   -- when it is overdue: the tier's end and a grace
    properties  JSONB       NOT NULL,   -- the AMQP properties it was moved with
    body        BYTEA       NOT NULL,
    redriven    INTEGER     NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, source, message_id)
);
CREATE INDEX retry_watch_due ON retry_watch (due_at);
