-- Deduplication by content follows the signed resource, not the unsigned envelope (SPEC 2.4).
-- Expand step: the new key's columns, filled for every insert, also by a pod of the previous
-- version during a rolling deploy (the trigger below). The unique index on the new key is built
-- CONCURRENTLY by the next migration; `hookgate migrate` then backfills the rows stored before
-- in pages and only after that drops the old key (store/content_key.rs). See the README's
-- "Upgrading deduplication".
--
--   content_family: the family the eventType's prefix names ('unknown' when none)
--   copy_key:       '' when the family orders by a time inside the signed resource, so that
--                   identical signed bytes are one event; the event id otherwise, so that a
--                   genuine repeat of identical bytes (a KYC that passes again) is a new event
--                   and earlier copies are still found through the same index.
ALTER TABLE inbox_dedup ADD COLUMN content_family TEXT, ADD COLUMN copy_key TEXT;

-- The catalogue's prefixes and which families order by a signed time; a test checks this
-- function against catalogue/facts.rs. Dropped with the trigger once no previous-version pod
-- can be running (a later contract migration).
CREATE FUNCTION inbox_dedup_content_family(type_key TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE split_part(type_key, '.', 1)
        WHEN 'TRANSFER' THEN 'transfer'
        WHEN 'CARD_TRANSACTION' THEN 'card_transaction'
        WHEN 'BUDGET_TRANSACTION' THEN 'budget_transaction'
        WHEN 'KYC' THEN 'kyc'
        WHEN 'KYB' THEN 'kyb'
        WHEN 'FACE_AUTHENTICATION' THEN 'face_authentication'
        WHEN 'PAYOUT' THEN 'payout'
        WHEN 'CRYPTO_DEPOSIT' THEN 'crypto_deposit'
        WHEN 'CRYPTO_WITHDRAWAL' THEN 'crypto_withdrawal'
        WHEN 'GLOBAL_ACCOUNT_TRANSACTION' THEN 'global_account_transaction'
        WHEN 'CARD' THEN 'card'
        WHEN 'ACCOUNT' THEN 'account'
        ELSE 'unknown' END
$$;

CREATE FUNCTION inbox_dedup_orders_by_signed_time(family TEXT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT family IN ('transfer', 'card_transaction', 'budget_transaction', 'payout',
                      'crypto_deposit', 'crypto_withdrawal', 'global_account_transaction')
$$;

-- A previous-version pod inserts without the new columns; this fills them, so its rows are
-- held by the new key too and the old key can go while it still runs.
CREATE FUNCTION inbox_dedup_fill_content_key() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.content_family := inbox_dedup_content_family(NEW.type_key);
    NEW.copy_key := CASE WHEN inbox_dedup_orders_by_signed_time(NEW.content_family)
                         THEN '' ELSE NEW.event_id END;
    RETURN NEW;
END
$$;

-- The condition is checked without calling the function: a current pod's insert costs nothing.
CREATE TRIGGER inbox_dedup_fill_content_key BEFORE INSERT ON inbox_dedup
    FOR EACH ROW WHEN (NEW.content_family IS NULL)
    EXECUTE FUNCTION inbox_dedup_fill_content_key();
