-- The long operations under way (verify, rebuild), one row per kind, with their progress, so
-- `hookgate status` shows them whichever process runs them. A run keeps its row up to date
-- every second and deletes it when it ends; a row whose run died stays, and status tells it
-- apart by the run's session lock, which died with it.
CREATE TABLE operation_runs (
    kind       TEXT        PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    done       BIGINT      NOT NULL,
    total      BIGINT      NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
