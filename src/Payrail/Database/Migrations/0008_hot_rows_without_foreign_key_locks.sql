-- A foreign-key check takes FOR KEY SHARE on the referenced row. Every payment referenced the same
-- merchants row (payments.merchant_id) and the same two ledger_accounts rows (ledger_transfers debit and
-- credit accounts): with many payments in flight each check turned that row's lock into a new
-- multixact and wrote a WAL record for it. These references are now checked by triggers that read
-- without locking; that is as strong as the foreign keys because the referenced rows can be neither
-- deleted nor re-keyed (refused below), so a row that exists when checked exists at commit.
--   PR005 merchants and ledger accounts are never deleted or truncated
--   PR006 ledger account id, currency or flags changed
--   PR008 merchant id changed

ALTER TABLE ledger_transfers DROP CONSTRAINT IF EXISTS ledger_transfers_debit_account_id_fkey,
                             DROP CONSTRAINT IF EXISTS ledger_transfers_credit_account_id_fkey;
ALTER TABLE payments DROP CONSTRAINT IF EXISTS payments_merchant_id_fkey;

-- Ledger accounts: existence is checked by ledger_apply_transfer (0007).
CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();
CREATE OR REPLACE FUNCTION ledger_accounts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.currency <> OLD.currency OR NEW.flags <> OLD.flags THEN
        RAISE EXCEPTION 'ledger account % keeps its id, currency and flags', OLD.id USING ERRCODE = 'PR006';
    END IF;
    RETURN NEW;
END;
$$;

-- Merchants: a payment names an existing merchant; merchants stay.
CREATE FUNCTION payments_merchant_exists() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM merchants WHERE id = NEW.merchant_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'payment % names merchant %, which does not exist', NEW.id, NEW.merchant_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER payments_merchant_reference BEFORE INSERT OR UPDATE OF merchant_id ON payments
    FOR EACH ROW EXECUTE FUNCTION payments_merchant_exists();

CREATE FUNCTION merchants_keep_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'merchant % keeps its id', OLD.id USING ERRCODE = 'PR008';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER merchants_id_fixed BEFORE UPDATE ON merchants
    FOR EACH ROW EXECUTE FUNCTION merchants_keep_id();
CREATE TRIGGER merchants_no_delete BEFORE DELETE ON merchants
    FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER merchants_no_truncate BEFORE TRUNCATE ON merchants
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();
