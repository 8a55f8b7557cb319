-- The envelope's own time orders the account-level families; the worker re-parses every
-- event from what was received, so it is kept with the event.
ALTER TABLE inbox_events ADD COLUMN envelope_time TIMESTAMPTZ;
CREATE INDEX inbox_events_unprocessed ON inbox_events (seq) WHERE processed_at IS NULL;

-- One table per family. Every table has the same ordering state; money families add exact
-- amounts (NUMERIC, never floating point) with their currencies.
CREATE TABLE transfers (
    object_id      TEXT PRIMARY KEY,
    account_id     TEXT,
    status         TEXT        NOT NULL,
    occurred_at    TIMESTAMPTZ NOT NULL,
    last_event_id  TEXT        NOT NULL,
    last_source    TEXT        NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    resource       JSONB,
    amount         NUMERIC,
    currency       TEXT,
    fee            NUMERIC,
    fee_currency   TEXT
);
CREATE TABLE card_transactions          (LIKE transfers INCLUDING ALL);
CREATE TABLE budget_transactions        (LIKE transfers INCLUDING ALL);
CREATE TABLE crypto_deposits            (LIKE transfers INCLUDING ALL);
CREATE TABLE crypto_withdrawals         (LIKE transfers INCLUDING ALL);
CREATE TABLE global_account_transactions (LIKE transfers INCLUDING ALL);
CREATE TABLE payouts                    (LIKE transfers INCLUDING ALL);
ALTER TABLE payouts
    ADD COLUMN to_amount       NUMERIC,
    ADD COLUMN to_currency     TEXT,
    ADD COLUMN refund_amount   NUMERIC,
    ADD COLUMN refund_currency TEXT;

CREATE TABLE cards (
    object_id      TEXT PRIMARY KEY,
    account_id     TEXT,
    status         TEXT        NOT NULL,
    occurred_at    TIMESTAMPTZ NOT NULL,
    last_event_id  TEXT        NOT NULL,
    last_source    TEXT        NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    resource       JSONB
);
CREATE TABLE accounts             (LIKE cards INCLUDING ALL);
CREATE TABLE kyc_checks           (LIKE cards INCLUDING ALL);
CREATE TABLE kyb_checks           (LIKE cards INCLUDING ALL);
CREATE TABLE face_authentications (LIKE cards INCLUDING ALL);

DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['transfers', 'card_transactions', 'budget_transactions',
        'crypto_deposits', 'crypto_withdrawals', 'global_account_transactions', 'payouts',
        'cards', 'accounts', 'kyc_checks', 'kyb_checks', 'face_authentications']
    LOOP
        EXECUTE format('CREATE INDEX %I ON %I (account_id)', t || '_account_id', t);
        EXECUTE format('CREATE INDEX %I ON %I (status)', t || '_status', t);
    END LOOP;
END $$;

-- An account with its KYC, KYB and face-authentication state, whichever of them is known.
CREATE VIEW account_states AS
SELECT ids.account_id,
       a.status   AS account_status,
       kyc.status AS kyc_status,
       kyb.status AS kyb_status,
       face.status AS face_authentication_status
FROM (SELECT object_id AS account_id FROM accounts
      UNION SELECT object_id FROM kyc_checks
      UNION SELECT object_id FROM kyb_checks
      UNION SELECT object_id FROM face_authentications) ids
LEFT JOIN accounts a             ON a.object_id = ids.account_id
LEFT JOIN kyc_checks kyc         ON kyc.object_id = ids.account_id
LEFT JOIN kyb_checks kyb         ON kyb.object_id = ids.account_id
LEFT JOIN face_authentications face ON face.object_id = ids.account_id;

-- Every event seen for an object, applied or not.
CREATE TABLE status_history (
    id           BIGSERIAL PRIMARY KEY,
    family       TEXT        NOT NULL,
    object_id    TEXT        NOT NULL,
    source       TEXT        NOT NULL,
    event_id     TEXT        NOT NULL,
    status       TEXT        NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    applied      BOOLEAN     NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT status_history_once UNIQUE (source, event_id)
);
CREATE INDEX status_history_object ON status_history (family, object_id, occurred_at);

-- Notifications of applied status transitions, relayed like the inbox.
CREATE TABLE notification_outbox (
    seq              BIGSERIAL PRIMARY KEY,
    notification_id  TEXT        NOT NULL UNIQUE,
    source           TEXT        NOT NULL,
    event_id         TEXT        NOT NULL,
    routing_key      TEXT        NOT NULL,
    body             BYTEA       NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at     TIMESTAMPTZ
);
CREATE INDEX notification_outbox_unpublished ON notification_outbox (seq) WHERE published_at IS NULL;
