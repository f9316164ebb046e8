-- Striped account balances. Every payment posted buyer → merchant used to update the merchant's (and
-- the buyer's) one ledger_accounts row and hold its row lock until COMMIT, so payments to one merchant
-- ran one at a time, each waiting for the previous one's WAL flush. An account's balance is now the sum
-- of its stripes (ledger_account_balances, 16 rows per account; the view ledger_account_totals gives the
-- four familiar columns), and a transfer side touches one stripe:
--   * a side that can never break its account's flag — a credit to a debits_must_not_exceed_credits
--     account, a debit to a credits_must_not_exceed_debits account, any side of an account without
--     flags (the payment direction) — adds to stripe 1..15, chosen by the transaction, and takes no
--     account-wide lock; it only ever adds headroom to a flag that is checked;
--   * a side that must check a flag (the refund direction) serializes on the account row (locked and
--     touched, so a REPEATABLE READ transaction that missed a concurrent check fails instead of deciding
--     on a stale sum), writes stripe 0, then sums all stripes and checks the flag. Unchecked sides never
--     lower what a checked side checks, so the sum it reads can only understate the headroom.
-- Per stripe a pending column may go below zero (a hold is released on the resolving transaction's
-- stripe); per account the totals stay exact and non-negative, which `payrail ledger verify` recomputes.
--   PR004 an account flag (balance limit) would be violated
--   PR006 account balances changed other than by inserting a transfer (also: currency or flags changed)

CREATE TABLE ledger_account_balances (
    account_id      bigint   NOT NULL REFERENCES ledger_accounts (id),
    stripe          smallint NOT NULL CHECK (stripe BETWEEN 0 AND 15),
    debits_pending  bigint   NOT NULL DEFAULT 0,
    debits_posted   bigint   NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending bigint   NOT NULL DEFAULT 0,
    credits_posted  bigint   NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    PRIMARY KEY (account_id, stripe)
);

-- Existing balances move to stripe 0 of their account.
INSERT INTO ledger_account_balances (account_id, stripe, debits_pending, debits_posted, credits_pending, credits_posted)
SELECT a.id, s.stripe, CASE WHEN s.stripe = 0 THEN a.debits_pending ELSE 0 END, CASE WHEN s.stripe = 0 THEN a.debits_posted ELSE 0 END,
       CASE WHEN s.stripe = 0 THEN a.credits_pending ELSE 0 END, CASE WHEN s.stripe = 0 THEN a.credits_posted ELSE 0 END
FROM ledger_accounts a CROSS JOIN generate_series(0, 15) AS s(stripe);

DROP FUNCTION ledger_check_flags(ledger_accounts);
ALTER TABLE ledger_accounts DROP COLUMN debits_pending, DROP COLUMN debits_posted, DROP COLUMN credits_pending, DROP COLUMN credits_posted;

-- The four balance columns of every account, summed over its stripes.
CREATE VIEW ledger_account_totals AS
SELECT a.id, a.owner, a.currency, a.flags,
       coalesce(sum(b.debits_pending), 0)::bigint  AS debits_pending,
       coalesce(sum(b.debits_posted), 0)::bigint   AS debits_posted,
       coalesce(sum(b.credits_pending), 0)::bigint AS credits_pending,
       coalesce(sum(b.credits_posted), 0)::bigint  AS credits_posted,
       a.created_at
FROM ledger_accounts a LEFT JOIN ledger_account_balances b ON b.account_id = a.id
GROUP BY a.id;

-- A new account gets its 16 zero stripes in the inserting statement.
CREATE FUNCTION ledger_accounts_create_stripes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_account_balances (account_id, stripe) SELECT NEW.id, s FROM generate_series(0, 15) AS s;
    RETURN NULL;
END;
$$;
CREATE TRIGGER ledger_accounts_stripes AFTER INSERT ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_accounts_create_stripes();

-- Stripes start at zero and move only through transfers (the transfer trigger's updates run at depth 2).
CREATE FUNCTION ledger_account_balances_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.debits_pending <> 0 OR NEW.debits_posted <> 0 OR NEW.credits_pending <> 0 OR NEW.credits_posted <> 0 THEN
            RAISE EXCEPTION 'ledger account % starts with zero balances; they change only by inserting ledger_transfers', NEW.account_id
                USING ERRCODE = 'PR006';
        END IF;
    ELSIF pg_trigger_depth() < 2 OR NEW.account_id <> OLD.account_id OR NEW.stripe <> OLD.stripe THEN
        RAISE EXCEPTION 'ledger account % balances change only by inserting ledger_transfers', OLD.account_id USING ERRCODE = 'PR006';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER ledger_account_balances_by_transfer_only BEFORE INSERT OR UPDATE ON ledger_account_balances
    FOR EACH ROW EXECUTE FUNCTION ledger_account_balances_guard();
CREATE TRIGGER ledger_account_balances_no_delete BEFORE DELETE ON ledger_account_balances
    FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER ledger_account_balances_no_truncate BEFORE TRUNCATE ON ledger_account_balances
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();

-- Currency and flags are fixed at creation: which sides of a transfer are checked depends on the flags.
CREATE OR REPLACE FUNCTION ledger_accounts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.currency <> OLD.currency OR NEW.flags <> OLD.flags THEN
        RAISE EXCEPTION 'ledger account % keeps its currency and flags', OLD.id USING ERRCODE = 'PR006';
    END IF;
    RETURN NEW;
END;
$$;

-- Applies one side of a transfer to its account (see the top of this file). Pending/posted deltas are
-- signed; the caller has validated the transfer.
CREATE FUNCTION ledger_apply_side(account ledger_accounts, is_debit boolean, pending_delta bigint, posted_delta bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    checked boolean := (is_debit AND account.flags & 1 <> 0) OR (NOT is_debit AND account.flags & 2 <> 0);
    stripe_no smallint := CASE WHEN checked THEN 0 ELSE 1 + (txid_current() % 15)::smallint END;
    t ledger_account_totals%ROWTYPE;
BEGIN
    IF is_debit THEN
        UPDATE ledger_account_balances SET debits_pending = debits_pending + pending_delta, debits_posted = debits_posted + posted_delta
            WHERE account_id = account.id AND stripe = stripe_no;
    ELSE
        UPDATE ledger_account_balances SET credits_pending = credits_pending + pending_delta, credits_posted = credits_posted + posted_delta
            WHERE account_id = account.id AND stripe = stripe_no;
    END IF;
    IF NOT checked THEN RETURN; END IF;

    SELECT * INTO STRICT t FROM ledger_account_totals WHERE id = account.id;
    IF account.flags & 1 <> 0 AND t.debits_pending + t.debits_posted > t.credits_posted THEN
        RAISE EXCEPTION 'account % (%, %) would have debits % + % above credits %: debits_must_not_exceed_credits',
            t.id, t.owner, t.currency, t.debits_pending, t.debits_posted, t.credits_posted USING ERRCODE = 'PR004';
    END IF;
    IF account.flags & 2 <> 0 AND t.credits_pending + t.credits_posted > t.debits_posted THEN
        RAISE EXCEPTION 'account % (%, %) would have credits % + % above debits %: credits_must_not_exceed_debits',
            t.id, t.owner, t.currency, t.credits_pending, t.credits_posted, t.debits_posted USING ERRCODE = 'PR004';
    END IF;
END;
$$;

-- Same contract as before (0004): validates a transfer and applies its balance effect in the inserting
-- statement; AFTER INSERT so that `ON CONFLICT (id) DO NOTHING` skips a retried transfer before it runs.
CREATE OR REPLACE FUNCTION ledger_apply_transfer() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    debit    ledger_accounts%ROWTYPE;
    credit   ledger_accounts%ROWTYPE;
    pending  ledger_transfers%ROWTYPE;
    resolved int;
    pending_delta bigint;
    posted_delta  bigint;
BEGIN
    -- Existence is checked here, not by a foreign key (0008): accounts are never deleted, and a foreign-key
    -- check would take a share lock on the hot account rows for every transfer.
    SELECT * INTO debit FROM ledger_accounts WHERE id = NEW.debit_account_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'transfer % debits account %, which does not exist', NEW.id, NEW.debit_account_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT * INTO credit FROM ledger_accounts WHERE id = NEW.credit_account_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'transfer % credits account %, which does not exist', NEW.id, NEW.credit_account_id USING ERRCODE = 'foreign_key_violation';
    END IF;

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
        WHEN 'posted' THEN pending_delta := 0; posted_delta := NEW.amount_minor;
        WHEN 'pending' THEN pending_delta := NEW.amount_minor; posted_delta := 0;
        -- The whole pending amount is released; only the posted part lands (a partial capture releases the rest).
        WHEN 'post_pending' THEN pending_delta := -pending.amount_minor; posted_delta := NEW.amount_minor;
        WHEN 'void_pending' THEN pending_delta := -pending.amount_minor; posted_delta := 0;
    END CASE;

    -- Checked sides serialize on their account rows, locked in id order so that concurrent transfers
    -- between the same accounts cannot deadlock; touching the row (flags = flags) makes a REPEATABLE READ
    -- checker that raced another fail with a serialization error rather than check a stale sum.
    IF debit.flags & 1 <> 0 OR credit.flags & 2 <> 0 THEN
        PERFORM 1 FROM ledger_accounts a
        WHERE (a.id = debit.id AND debit.flags & 1 <> 0) OR (a.id = credit.id AND credit.flags & 2 <> 0)
        ORDER BY a.id FOR NO KEY UPDATE;
        UPDATE ledger_accounts a SET flags = a.flags
        WHERE (a.id = debit.id AND debit.flags & 1 <> 0) OR (a.id = credit.id AND credit.flags & 2 <> 0);
    END IF;

    -- Stripes in account id order (same reason).
    IF debit.id < credit.id THEN
        PERFORM ledger_apply_side(debit, true, pending_delta, posted_delta);
        PERFORM ledger_apply_side(credit, false, pending_delta, posted_delta);
    ELSE
        PERFORM ledger_apply_side(credit, false, pending_delta, posted_delta);
        PERFORM ledger_apply_side(debit, true, pending_delta, posted_delta);
    END IF;
    RETURN NULL;
END;
$$;
