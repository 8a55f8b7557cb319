-- no-transaction
-- The DLQ index's key takes the event's source (issue 30, item 7): under (queue, message id)
-- alone, an event id two sources share made the second one's dead letter count as the first's,
-- and it was acknowledged without a copy. The new unique key is built without blocking writes
-- (one statement: several would run in one implicit transaction); 0018 then drops the old key.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS dead_letter_index_key
    ON dead_letter_index (queue, (COALESCE(source, '')), message_id);
