-- no-transaction
-- The new content key's unique index, built without blocking inserts (the inbox_dedup table
-- spans the retention window). Rows stored before 0013 have no key yet (NULL never conflicts);
-- store/content_key.rs backfills them, and rebuilds this index should a build have failed.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS inbox_dedup_same_resource
    ON inbox_dedup (source, content_family, content_hash, copy_key);
