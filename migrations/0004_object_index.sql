-- `hookgate verify` reads the archive object by object in keyset pages; the read API and the
-- object timeline read one object's events. Both walk this index.
CREATE INDEX inbox_events_object ON inbox_events (family, object_id, seq)
    WHERE object_id IS NOT NULL;
