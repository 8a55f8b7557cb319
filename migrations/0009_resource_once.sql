-- The resource is stored once, as the signed bytes. The JSONB copy doubled every inbox row
-- for nothing the inbox needs: the projection reads the bytes again with the receiver's own
-- rules and writes JSONB only into the read model. Dropping a column rewrites nothing; the
-- space comes back as rows are vacuumed or dropped by retention.
ALTER TABLE inbox_events DROP COLUMN resource;
