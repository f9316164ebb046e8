-- Two ways the ledger database differed from its model (Payrail.Domain/Ledger/LedgerBook.cs, issue 7):
--   * An UPDATE could change a ledger account's owner (0008 guarded id, currency and flags only), moving its
--     balance to someone else without a transfer. An account row is now fixed once created, every column of it:
--     owner and currency name the account, flags decide which side of a transfer is checked. The transfer
--     trigger's `SET flags = flags` touch (0007) changes nothing and passes.
--   * A transfer re-posted with an existing id and other fields was skipped by `ON CONFLICT (id) DO NOTHING`, so
--     the writer believed, say, a capture of 500 booked while 600 stood. Like the model (TigerBeetle's exists /
--     exists_with_different_fields), the database now skips a re-post whose fields are all equal (a resumed flow
--     re-posts its deterministic ids) and refuses one that differs in any field but created_at, aborting the batch.
-- Why a BEFORE INSERT trigger rather than `ON CONFLICT (id) DO UPDATE ... WHERE <fields differ>` running into the
-- append-only trigger: the rule then holds for every INSERT, however it is written (the payment path, a writer
-- still saying DO NOTHING, psql), duplicates inside one statement are judged alike, and the error names the rule
-- (PR010) instead of "append-only". Its cost on the payment path is one primary-key probe per transfer, on the
-- index pages the insert's own uniqueness check reads next: 8-13 µs measured on the 2-core dev machine under load,
-- 1-2% of the ~1.1 ms of PostgreSQL CPU a payment takes (README, Performance). The probe cannot see an uncommitted
-- concurrent insert of the same id; the payment path therefore inserts without ON CONFLICT, so that race ends in
-- unique_violation (batch aborted, nothing written) rather than a silent skip. (It does not arise there anyway: a
-- payment's transfer ids derive from its id, and the batch's version-checked UPDATE of the payment serializes its
-- writers.)
-- The balance effect stays in the AFTER INSERT trigger (0007): a skipped re-post never reaches it.
--   PR009 ledger account changed (owner, currency, flags or any other column)
--   PR010 transfer id already taken by a transfer with other fields

CREATE OR REPLACE FUNCTION ledger_accounts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD THEN
        RAISE EXCEPTION 'ledger account % (%, %) is fixed once created: owner, currency and flags never change',
            OLD.id, OLD.owner, OLD.currency USING ERRCODE = 'PR009';
    END IF;
    RETURN NEW;
END;
$$;

CREATE FUNCTION ledger_transfers_once() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    existing ledger_transfers%ROWTYPE;
BEGIN
    SELECT * INTO existing FROM ledger_transfers WHERE id = NEW.id;
    IF NOT FOUND THEN
        RETURN NEW;
    END IF;
    IF (existing.journal_entry_id, existing.debit_account_id, existing.credit_account_id, existing.amount_minor,
        existing.currency, existing.kind, existing.pending_id, existing.payment_id)
       IS NOT DISTINCT FROM
       (NEW.journal_entry_id, NEW.debit_account_id, NEW.credit_account_id, NEW.amount_minor,
        NEW.currency, NEW.kind, NEW.pending_id, NEW.payment_id) THEN
        RETURN NULL; -- exists: the same transfer, already applied
    END IF;
    RAISE EXCEPTION 'transfer % exists with other fields: stored %, re-posted %', NEW.id,
        format('%s %s %s from account %s to %s, pending %s, payment %s, journal entry %s', existing.kind, existing.amount_minor,
               existing.currency, existing.debit_account_id, existing.credit_account_id,
               coalesce(existing.pending_id::text, 'none'), coalesce(existing.payment_id::text, 'none'),
               existing.journal_entry_id),
        format('%s %s %s from account %s to %s, pending %s, payment %s, journal entry %s', NEW.kind, NEW.amount_minor,
               NEW.currency, NEW.debit_account_id, NEW.credit_account_id,
               coalesce(NEW.pending_id::text, 'none'), coalesce(NEW.payment_id::text, 'none'), NEW.journal_entry_id)
        USING ERRCODE = 'PR010';
END;
$$;
CREATE TRIGGER ledger_transfers_once BEFORE INSERT ON ledger_transfers
    FOR EACH ROW EXECUTE FUNCTION ledger_transfers_once();
