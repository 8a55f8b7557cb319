-- The inbox: every accepted webhook, exactly as received, with its delivery state.
CREATE TABLE inbox_events (
    seq               BIGSERIAL PRIMARY KEY,           -- order of receipt
    source            TEXT        NOT NULL,
    event_id          TEXT        NOT NULL,
    event_type        TEXT        NOT NULL,
    family            TEXT        NOT NULL,
    status            TEXT,                            -- NULL when the resource did not fit
    object_id         TEXT,
    account_id        TEXT,
    routing_key       TEXT        NOT NULL,
    occurred_at       TIMESTAMPTZ,
    received_at       TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    resource_raw      BYTEA       NOT NULL,            -- the signed bytes, untouched
    resource          JSONB,                           -- NULL when the bytes are not JSON
    content_hash      BYTEA       NOT NULL,            -- SHA-256 of resource_raw
    parse_error       TEXT,
    published_at      TIMESTAMPTZ,
    processed_at      TIMESTAMPTZ,
    dead_lettered_at  TIMESTAMPTZ,
    error             TEXT,
    CONSTRAINT inbox_events_source_event_id UNIQUE (source, event_id),
    CONSTRAINT inbox_events_same_content UNIQUE (source, event_type, content_hash)
);

-- The relay's sweeper scans what is not yet published, oldest first.
CREATE INDEX inbox_events_unpublished ON inbox_events (seq) WHERE published_at IS NULL;
CREATE INDEX inbox_events_received_at ON inbox_events (received_at);
