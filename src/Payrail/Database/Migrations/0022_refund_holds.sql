-- Refund holds and refund reversal events (issue 11, its remaining money-safety gaps).
--
-- A refund now holds its amount in the ledger in the batch that reserves it on its payment: a pending transfer
-- merchant → buyer (Payrail.Domain LedgerPostingRules.RefundHold), posted when the refund succeeds, voided when it fails
-- or is canceled first. The merchant account's debits_must_not_exceed_credits flag counts debits_pending, so two
-- refunds of one strict merchant racing for the last of its payable are decided by the ledger's own check under the
-- account row's lock: the later one is refused (PR004) before the PSP is asked, where the old check read outside the
-- reservation and both could pass, the later success then meeting PR004 after the PSP had refunded.
--
-- Two transfers are no longer checked against the flags (the transfer trigger below, as 0007 wrote it but for that):
--   * a post or void of a pending transfer: it never raises what a flag counts (the whole pending amount leaves, at
--     most that much is posted). A refund the PSP made must post its hold however the payable moved meanwhile.
--   * a PSP fee charged to a merchant (posted merchant → fees:{provider}, settlement): a fact at the PSP, already taken
--     from the funds it released. A strict merchant whose payable is held by pending refunds (or was refunded in full
--     before settlement) goes below zero by the fee, never by a refund: holds count every debit, fees included.
-- `payrail ledger verify` reads the flag as "debits other than fee charges must not exceed credits" accordingly.
--
-- A refund pending before this migration holds nothing: its success would post a hold that does not exist. Resolve
-- (or wait for the sweeper to resolve) pending refunds before migrating.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM refunds WHERE status = 'pending') THEN
        RAISE EXCEPTION 'refunds are pending: let the sweeper resolve them (payrail sweep --once) before migrating to refund holds (0022)';
    END IF;
END;
$$;

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

    -- (0022) Flags are not checked for a post or void of a pending transfer (it never raises what a flag counts) nor for
    -- a PSP fee charged to a merchant (a fact at the PSP the books must record): Payrail.Domain LedgerAccounts.FlagsChecked.
    -- Clearing them here leaves the side unchecked in ledger_apply_side too (no row lock, any stripe).
    IF NEW.kind IN ('post_pending', 'void_pending') OR (NEW.kind = 'posted' AND debit.owner LIKE 'merchant:%' AND credit.owner LIKE 'fees:%') THEN
        debit.flags := 0;
        credit.flags := 0;
    END IF;

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

-- Refund reversals (payment.refund_reversed, one event per refund that came back after it succeeded): accounting books a
-- refund_reversal line of that refund's amount on the reversal's day (one per refund, the unique key of 0018 says so),
-- loyalty gives the points its refund took back (reinstate, counted against the reversals of the payment).
ALTER TABLE settlement_lines
    DROP CONSTRAINT settlement_lines_kind_check,
    ADD CONSTRAINT settlement_lines_kind_check CHECK (kind IN ('capture', 'refund', 'refund_reversal'));
ALTER TABLE loyalty_entries
    DROP CONSTRAINT loyalty_entries_kind_check,
    ADD CONSTRAINT loyalty_entries_kind_check CHECK (kind IN ('earn', 'reverse', 'reinstate'));
