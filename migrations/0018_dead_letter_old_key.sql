-- The DLQ index's old key (queue, message id) goes, under a short lock_timeout (the table
-- holds only what is in the DLQ): dead letters of two sources that share an event id are then
-- both kept (0017). A pod of the previous version whose claim meets the missing key fails that
-- dead letter's move; the broker delivers the message again, to a new pod: nothing is lost.
SET LOCAL lock_timeout = '5s';
ALTER TABLE dead_letter_index DROP CONSTRAINT IF EXISTS dead_letter_index_pkey;
