-- Which notifier is POSTing which notification to which subscriber, until when (issue 30,
-- item 8). A lease replaces the advisory lock that used to be held, with its transaction and
-- pooled connection, for the whole POST: claiming and recording are now two short
-- transactions and no connection is held while a subscriber answers. A lease whose holder
-- died expires (the database's clock), and the next claim takes it over. Expand-only: a pod
-- of the previous version keeps its advisory locks, so during a rolling deploy one
-- notification may be POSTed by an old and a new pod at once (subscribers deduplicate by
-- `webhook-id`).
CREATE TABLE notification_leases (
    subscriber      TEXT        NOT NULL,
    notification_id TEXT        NOT NULL,
    holder          UUID        NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (subscriber, notification_id)
);
CREATE INDEX notification_leases_expires_at ON notification_leases (expires_at);
