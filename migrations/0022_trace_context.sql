-- One trace from webhook to notification (SPEC 7): the W3C `traceparent` an event was
-- received under (the sender's trace, or a new one), carried on its message, and the one its
-- notification is published and POSTed under. Nullable columns without a default: adding
-- them rewrites nothing, and rows from before have none.
ALTER TABLE inbox_events ADD COLUMN traceparent TEXT;
ALTER TABLE notification_outbox ADD COLUMN traceparent TEXT;
