-- Deduplication by content compares the event type upper-cased (SPEC 2.4), so a copy re-sent
-- with `transfer.updated` instead of `TRANSFER.UPDATED` is still a duplicate.
ALTER TABLE inbox_events DROP CONSTRAINT inbox_events_same_content;
CREATE UNIQUE INDEX inbox_events_same_content
    ON inbox_events (source, upper(event_type), content_hash);

-- A row the relay cannot publish (values written before the edge limits existed) is parked
-- with its reason instead of blocking every row behind it; `dlq replay` un-parks it.
ALTER TABLE inbox_events
    ADD COLUMN parked_at  TIMESTAMPTZ,
    ADD COLUMN park_error TEXT;
DROP INDEX inbox_events_unpublished;
CREATE INDEX inbox_events_unpublished ON inbox_events (seq)
    WHERE published_at IS NULL AND parked_at IS NULL;

ALTER TABLE notification_outbox
    ADD COLUMN parked_at  TIMESTAMPTZ,
    ADD COLUMN park_error TEXT;
DROP INDEX notification_outbox_unpublished;
CREATE INDEX notification_outbox_unpublished ON notification_outbox (seq)
    WHERE published_at IS NULL AND parked_at IS NULL;
