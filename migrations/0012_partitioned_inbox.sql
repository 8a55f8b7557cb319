-- The inbox is partitioned by day of receipt, so that storing an event costs the same whether
-- the inbox holds a day or a year, and retention drops a day whole instead of deleting its rows.
--
-- The partition key is `seq`, the order of receipt, not `received_at`: every statement that
-- follows an event from its queues and records finds it by `seq`, and so reaches one partition.
-- Partition k holds seq k·2^36 to (k+1)·2^36 - 1. Once a day the maintenance task opens the
-- next partition and moves the sequence to its first value (store/partitions.rs), so each
-- partition holds one day's events. 2^36 is 68 billion events a day, 795 000 a second.
--
-- Deduplication needs both unique keys across the whole retention window, which a unique index
-- on a partitioned table cannot give unless it contains the partition key. The keys move to a
-- narrow table of their own, pruned with the partitions.
CREATE TABLE inbox_dedup (
    source       TEXT   NOT NULL,
    event_id     TEXT   NOT NULL,
    type_key     TEXT   NOT NULL,                   -- upper(event_type) (SPEC 2.4)
    content_hash BYTEA  NOT NULL,
    seq          BIGINT NOT NULL,
    CONSTRAINT inbox_dedup_event_id PRIMARY KEY (source, event_id),
    CONSTRAINT inbox_dedup_same_content UNIQUE (source, type_key, content_hash)
);
-- Retention removes a dropped partition's keys by its range of seq.
CREATE INDEX inbox_dedup_seq ON inbox_dedup (seq);

-- One row per partition, for maintenance and retention.
CREATE TABLE inbox_partitions (
    name      TEXT        PRIMARY KEY,
    first_seq BIGINT      NOT NULL UNIQUE,
    opened_at TIMESTAMPTZ NOT NULL
);

INSERT INTO inbox_dedup (source, event_id, type_key, content_hash, seq)
    SELECT source, event_id, upper(event_type), content_hash, seq FROM inbox_events;

-- The table as it is becomes the first partition: nothing is copied, its indexes are kept and
-- taken over by the partitioned table's.
ALTER TABLE inbox_events RENAME TO inbox_events_p0;
ALTER TABLE inbox_events_p0 DROP CONSTRAINT inbox_events_source_event_id;
DROP INDEX inbox_events_same_content;
ALTER INDEX inbox_events_pkey RENAME TO inbox_events_p0_pkey;
ALTER INDEX inbox_events_received RENAME TO inbox_events_p0_received;
ALTER INDEX inbox_events_search_type RENAME TO inbox_events_p0_search_type;
ALTER INDEX inbox_events_search_family_status RENAME TO inbox_events_p0_search_family_status;
ALTER INDEX inbox_events_search_object RENAME TO inbox_events_p0_search_object;
ALTER INDEX inbox_events_search_account RENAME TO inbox_events_p0_search_account;
ALTER INDEX inbox_events_dead_lettered RENAME TO inbox_events_p0_dead_lettered;
ALTER INDEX inbox_events_object RENAME TO inbox_events_p0_object;

CREATE TABLE inbox_events (LIKE inbox_events_p0 INCLUDING DEFAULTS) PARTITION BY RANGE (seq);
ALTER SEQUENCE inbox_events_seq_seq OWNED BY inbox_events.seq;
ALTER TABLE inbox_events ADD CONSTRAINT inbox_events_pkey PRIMARY KEY (seq);
CREATE INDEX inbox_events_received ON inbox_events (received_at, seq);
CREATE INDEX inbox_events_search_type ON inbox_events (event_type, received_at, seq);
CREATE INDEX inbox_events_search_family_status ON inbox_events (family, status, received_at, seq);
CREATE INDEX inbox_events_search_object ON inbox_events (object_id, received_at, seq);
CREATE INDEX inbox_events_search_account ON inbox_events (account_id, received_at, seq);
CREATE INDEX inbox_events_dead_lettered ON inbox_events (seq) WHERE dead_lettered_at IS NOT NULL;
CREATE INDEX inbox_events_object ON inbox_events (family, object_id, seq) WHERE object_id IS NOT NULL;

-- The old rows fit below the first boundary above the sequence; the next partition starts
-- there, and the sequence moves to it.
DO $$
DECLARE
    boundary BIGINT := (((SELECT last_value FROM inbox_events_seq_seq) >> 36) + 1) << 36;
BEGIN
    EXECUTE format('ALTER TABLE inbox_events ATTACH PARTITION inbox_events_p0
                    FOR VALUES FROM (MINVALUE) TO (%s)', boundary);
    EXECUTE format('CREATE TABLE inbox_events_p%s PARTITION OF inbox_events
                    FOR VALUES FROM (%s) TO (%s)', boundary >> 36, boundary, boundary + (1::bigint << 36));
    INSERT INTO inbox_partitions (name, first_seq, opened_at)
        VALUES ('inbox_events_p0', 0, COALESCE((SELECT min(received_at) FROM inbox_events_p0), now())),
               (format('inbox_events_p%s', boundary >> 36), boundary, now());
    PERFORM setval('inbox_events_seq_seq', boundary, false);
END
$$;
