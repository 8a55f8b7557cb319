-- The pipeline's figures a minute at a time, for the console's charts of the last hour
-- (issue 31, item 6): read from the database, so every pod draws the same numbers. The first
-- process to sample a minute writes it (primary key, ON CONFLICT DO NOTHING); a day is kept.
CREATE TABLE minute_figures (
    minute              TIMESTAMPTZ      PRIMARY KEY,
    accepted            BIGINT           NOT NULL,
    processed           BIGINT           NOT NULL,
    backlog             BIGINT           NOT NULL,
    backlog_age_seconds DOUBLE PRECISION NOT NULL,
    dead_letters        BIGINT           NOT NULL,
    stuck               BIGINT           NOT NULL
);
