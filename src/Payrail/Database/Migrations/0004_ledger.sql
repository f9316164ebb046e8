-- Double-entry ledger, TigerBeetle's model. Error codes raised here (see Ledger/LedgerSqlState.cs):
--   PR001 transfer currency differs from an account's currency
--   PR002 bad pending reference (missing, not pending, other accounts, already posted/voided)
--   PR003 post amount above the pending amount, or void amount different from it
--   PR004 an account flag (balance limit) would be violated
--   PR005 append-only table: UPDATE / DELETE / TRUNCATE refused
--   PR006 account balances changed other than by inserting a transfer

CREATE TABLE ledger_accounts (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner           text        NOT NULL CHECK (length(owner) BETWEEN 1 AND 200),
    currency        char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- 1 = debits_must_not_exceed_credits, 2 = credits_must_not_exceed_debits
    flags           int         NOT NULL DEFAULT 0 CHECK (flags BETWEEN 0 AND 3),
    debits_pending  bigint      NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    debits_posted   bigint      NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending bigint      NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    credits_posted  bigint      NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (owner, currency)
);

-- Transfers are immutable. Every transfer has exactly one debit and one credit account of the
-- transfer's own currency (checked by the insert trigger below), so every journal entry (the
-- transfers sharing a journal_entry_id) balances per currency by construction: the database
-- refuses a journal entry that does not balance because it refuses each unbalanced leg.
CREATE TABLE ledger_transfers (
    id                uuid        PRIMARY KEY, -- deterministic: a retried operation re-inserts the same id and cannot post twice
    journal_entry_id  uuid        NOT NULL,
    debit_account_id  bigint      NOT NULL REFERENCES ledger_accounts (id),
    credit_account_id bigint      NOT NULL REFERENCES ledger_accounts (id),
    amount_minor      bigint      NOT NULL CHECK (amount_minor > 0),
    currency          char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    kind              text        NOT NULL CHECK (kind IN ('posted', 'pending', 'post_pending', 'void_pending')),
    pending_id        uuid        REFERENCES ledger_transfers (id),
    payment_id        uuid        REFERENCES payments (id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ledger_transfers_two_accounts CHECK (debit_account_id <> credit_account_id),
    CONSTRAINT ledger_transfers_pending_reference CHECK (
        (kind IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL))
);
-- A pending transfer is posted or voided at most once, even under concurrent attempts.
CREATE UNIQUE INDEX ledger_transfers_resolve_once ON ledger_transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_account_id);
CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_account_id);
CREATE INDEX ledger_transfers_journal_entry ON ledger_transfers (journal_entry_id);
CREATE INDEX ledger_transfers_payment ON ledger_transfers (payment_id) WHERE payment_id IS NOT NULL;

CREATE TRIGGER ledger_transfers_append_only BEFORE UPDATE OR DELETE ON ledger_transfers
    FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER ledger_transfers_no_truncate BEFORE TRUNCATE ON ledger_transfers
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();

-- Validates a transfer and applies its balance effect to both accounts in the inserting statement.
-- AFTER INSERT (not BEFORE) on purpose: with `INSERT ... ON CONFLICT (id) DO NOTHING` a retried
-- transfer is skipped before AFTER triggers run, so its effect can never be applied twice. Any
-- exception here rolls back the whole statement: the transfer row and every balance change.
CREATE FUNCTION ledger_apply_transfer() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    debit    ledger_accounts%ROWTYPE;
    credit   ledger_accounts%ROWTYPE;
    pending  ledger_transfers%ROWTYPE;
    resolved int;
BEGIN
    -- Lock both accounts in id order so that concurrent transfers between the same accounts cannot deadlock.
    -- FOR NO KEY UPDATE (the lock the balance UPDATE takes anyway), not FOR UPDATE: the foreign-key checks
    -- of this insert already hold FOR KEY SHARE on both accounts in debit/credit order, and FOR UPDATE
    -- would conflict with another transaction's KEY SHARE in the opposite order (a deadlock).
    PERFORM 1 FROM ledger_accounts WHERE id IN (NEW.debit_account_id, NEW.credit_account_id) ORDER BY id FOR NO KEY UPDATE;
    SELECT * INTO STRICT debit FROM ledger_accounts WHERE id = NEW.debit_account_id;
    SELECT * INTO STRICT credit FROM ledger_accounts WHERE id = NEW.credit_account_id;

    IF debit.currency <> NEW.currency OR credit.currency <> NEW.currency THEN
        RAISE EXCEPTION 'transfer % in % between account % (%) and account % (%): currencies differ',
            NEW.id, NEW.currency, debit.id, debit.currency, credit.id, credit.currency USING ERRCODE = 'PR001';
    END IF;

    IF NEW.kind IN ('post_pending', 'void_pending') THEN
        SELECT * INTO pending FROM ledger_transfers WHERE id = NEW.pending_id FOR SHARE;
        IF NOT FOUND OR pending.kind <> 'pending' THEN
            RAISE EXCEPTION 'transfer % refers to %, which is not a pending transfer', NEW.id, NEW.pending_id USING ERRCODE = 'PR002';
        END IF;
        IF pending.debit_account_id <> NEW.debit_account_id OR pending.credit_account_id <> NEW.credit_account_id
           OR pending.currency <> NEW.currency THEN
            RAISE EXCEPTION 'transfer % must use the accounts and currency of pending transfer %', NEW.id, pending.id USING ERRCODE = 'PR002';
        END IF;
        SELECT count(*) INTO resolved FROM ledger_transfers WHERE pending_id = pending.id;
        IF resolved > 1 THEN
            RAISE EXCEPTION 'pending transfer % is already posted or voided', pending.id USING ERRCODE = 'PR002';
        END IF;
        IF NEW.kind = 'post_pending' AND NEW.amount_minor > pending.amount_minor THEN
            RAISE EXCEPTION 'transfer % posts % but pending transfer % holds only %', NEW.id, NEW.amount_minor, pending.id, pending.amount_minor
                USING ERRCODE = 'PR003';
        END IF;
        IF NEW.kind = 'void_pending' AND NEW.amount_minor <> pending.amount_minor THEN
            RAISE EXCEPTION 'transfer % voids % but pending transfer % holds %', NEW.id, NEW.amount_minor, pending.id, pending.amount_minor
                USING ERRCODE = 'PR003';
        END IF;
    END IF;

    CASE NEW.kind
        WHEN 'posted' THEN
            UPDATE ledger_accounts SET debits_posted = debits_posted + NEW.amount_minor WHERE id = NEW.debit_account_id RETURNING * INTO debit;
            UPDATE ledger_accounts SET credits_posted = credits_posted + NEW.amount_minor WHERE id = NEW.credit_account_id RETURNING * INTO credit;
        WHEN 'pending' THEN
            UPDATE ledger_accounts SET debits_pending = debits_pending + NEW.amount_minor WHERE id = NEW.debit_account_id RETURNING * INTO debit;
            UPDATE ledger_accounts SET credits_pending = credits_pending + NEW.amount_minor WHERE id = NEW.credit_account_id RETURNING * INTO credit;
        WHEN 'post_pending' THEN
            -- The whole pending amount is released; only the posted part lands (a partial capture releases the rest).
            UPDATE ledger_accounts SET debits_pending = debits_pending - pending.amount_minor, debits_posted = debits_posted + NEW.amount_minor
                WHERE id = NEW.debit_account_id RETURNING * INTO debit;
            UPDATE ledger_accounts SET credits_pending = credits_pending - pending.amount_minor, credits_posted = credits_posted + NEW.amount_minor
                WHERE id = NEW.credit_account_id RETURNING * INTO credit;
        WHEN 'void_pending' THEN
            UPDATE ledger_accounts SET debits_pending = debits_pending - pending.amount_minor WHERE id = NEW.debit_account_id RETURNING * INTO debit;
            UPDATE ledger_accounts SET credits_pending = credits_pending - pending.amount_minor WHERE id = NEW.credit_account_id RETURNING * INTO credit;
    END CASE;

    PERFORM ledger_check_flags(debit);
    PERFORM ledger_check_flags(credit);
    RETURN NULL;
END;
$$;

CREATE FUNCTION ledger_check_flags(account ledger_accounts) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF account.flags & 1 <> 0 AND account.debits_pending + account.debits_posted > account.credits_posted THEN
        RAISE EXCEPTION 'account % (%, %) would have debits % + % above credits %: debits_must_not_exceed_credits',
            account.id, account.owner, account.currency, account.debits_pending, account.debits_posted, account.credits_posted
            USING ERRCODE = 'PR004';
    END IF;
    IF account.flags & 2 <> 0 AND account.credits_pending + account.credits_posted > account.debits_posted THEN
        RAISE EXCEPTION 'account % (%, %) would have credits % + % above debits %: credits_must_not_exceed_debits',
            account.id, account.owner, account.currency, account.credits_pending, account.credits_posted, account.debits_posted
            USING ERRCODE = 'PR004';
    END IF;
END;
$$;

CREATE TRIGGER ledger_transfers_apply AFTER INSERT ON ledger_transfers
    FOR EACH ROW EXECUTE FUNCTION ledger_apply_transfer();

-- Balances move only through transfers: a direct UPDATE of a balance column (trigger depth 1) is
-- refused; the transfer trigger's own updates run at depth 2.
CREATE FUNCTION ledger_accounts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 AND (
        NEW.debits_pending <> OLD.debits_pending OR NEW.debits_posted <> OLD.debits_posted OR
        NEW.credits_pending <> OLD.credits_pending OR NEW.credits_posted <> OLD.credits_posted OR
        NEW.currency <> OLD.currency) THEN
        RAISE EXCEPTION 'ledger account % balances change only by inserting ledger_transfers', OLD.id USING ERRCODE = 'PR006';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER ledger_accounts_balances_by_transfer_only BEFORE UPDATE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_accounts_guard();
