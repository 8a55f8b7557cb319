-- The notifications each subscriber answered 2xx to. A copy that arrives again (a relay
-- re-publish after a lost confirm, a redelivery after a lost ack) is acknowledged without a
-- second POST. Retention prunes it with the notification outbox.
CREATE TABLE notification_deliveries (
    subscriber       TEXT        NOT NULL,
    notification_id  TEXT        NOT NULL,
    delivered_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (subscriber, notification_id)
);
CREATE INDEX notification_deliveries_delivered_at ON notification_deliveries (delivered_at);
