-- Signed-in console sessions. The cookie holds a random value; only its SHA-256 is kept, so
-- a copy of this table opens no session. `token_fingerprint` is the SHA-256 of the API token
-- the session signed in with: rotating the token ends every session made with the old one.
CREATE TABLE console_sessions (
    id_hash            BYTEA       PRIMARY KEY,
    csrf_token         TEXT        NOT NULL,
    operator           TEXT        NOT NULL,
    token_fingerprint  BYTEA       NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);

-- What was done from the console, by whom: replays, purges, sign-ins and sign-outs.
CREATE TABLE console_audit (
    id        BIGSERIAL   PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    operator  TEXT        NOT NULL,
    action    TEXT        NOT NULL,
    detail    JSONB       NOT NULL
);
CREATE INDEX console_audit_at ON console_audit (at);

-- The console's object timeline shows which subscribers took each event's notification.
CREATE INDEX notification_deliveries_notification ON notification_deliveries (notification_id);
