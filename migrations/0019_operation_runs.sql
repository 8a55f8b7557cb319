-- The long operations under way (verify, rebuild), one row per kind, with their progress, so
-- `hookgate status` shows them whichever process runs them. A run keeps its row up to date
-- every second and deletes it when it succeeds; a run that fails records when and why, and a
-- row whose run died stays, told apart by the run's session lock, which died with it. The
-- next run of the kind replaces the row.
CREATE TABLE operation_runs (
    kind       TEXT        PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    done       BIGINT      NOT NULL,
    total      BIGINT      NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    failed_at  TIMESTAMPTZ,
    error      TEXT
);
