-- Failed console sign-ins per client address, so the limit of 10 per 5 minutes holds across
-- every pod (SPEC 5). One row per address that failed recently; expired rows are pruned by the
-- statement that records a failure, so the table stays as small as the current attack.
CREATE TABLE console_sign_in_failures (
    client         TEXT        PRIMARY KEY,
    window_started TIMESTAMPTZ NOT NULL,
    failures       INTEGER     NOT NULL
);
CREATE INDEX console_sign_in_failures_window ON console_sign_in_failures (window_started);
