-- Three ways the ledger database differed from its model (Payrail.Domain/Ledger/LedgerBook.cs, issue 7); the third,
-- an account total past the largest bigint, is explained further down with its fix.
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

-- The third difference, found by running the model's random histories against this database
-- (tests/Payrail.Tests/Database/LedgerModelEquivalenceTests.cs): a transfer that takes an account's column past the
-- largest bigint is refused by the model (overflow) but was accepted here when it landed on a stripe of its own
-- (0007), each stripe fitting; the account's total then no longer fit ledger_account_totals, so every later check
-- of that account's flags, and `payrail ledger verify` for the whole ledger, failed with "bigint out of range".
-- Now the stripe written may hold at most max_stripe = floor((2^63 - 1) / 16) either way, so 16 stripes always sum
-- into a bigint; the hot path only compares (no extra read, no extra lock). A write that would leave that bound — an
-- account near 6e17 minor units, far above any real one — takes the slow path: lock the account's stripes, refuse
-- with numeric_value_out_of_range like the model when the total would not fit, else write the new total spread
-- evenly over the stripes (a spread leaves a stripe at most one above max_stripe, never all 16, so the sum fits).
-- Measured: no difference in the transfer trigger's time beyond the noise (±5 µs) on the dev machine.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_account_balances
               WHERE greatest(abs(debits_pending), debits_posted, abs(credits_pending), credits_posted) > 576460752303423488) THEN
        RAISE EXCEPTION 'a ledger stripe holds more than floor((2^63 - 1) / 16) + 1 minor units: spread it before migrating';
    END IF;
END;
$$;

-- The slow path of ledger_apply_side (above). Stripes are numbered 0..15 (0007), locked in that order.
CREATE FUNCTION ledger_spread_side(account ledger_accounts, is_debit boolean, pending_delta bigint, posted_delta bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    stripes  int;
    pending_total numeric;
    posted_total  numeric;
BEGIN
    PERFORM 1 FROM ledger_account_balances WHERE account_id = account.id ORDER BY stripe FOR UPDATE;
    SELECT count(*),
           CASE WHEN is_debit THEN sum(debits_pending) ELSE sum(credits_pending) END + pending_delta,
           CASE WHEN is_debit THEN sum(debits_posted) ELSE sum(credits_posted) END + posted_delta
      INTO stripes, pending_total, posted_total
      FROM ledger_account_balances WHERE account_id = account.id;
    IF pending_total NOT BETWEEN -9223372036854775808 AND 9223372036854775807
       OR posted_total NOT BETWEEN -9223372036854775808 AND 9223372036854775807 THEN
        RAISE EXCEPTION 'account % (%, %) would have % pending and % posted %: beyond bigint', account.id, account.owner,
            account.currency, pending_total, posted_total, CASE WHEN is_debit THEN 'debits' ELSE 'credits' END
            USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    UPDATE ledger_account_balances b SET
        debits_pending  = CASE WHEN is_debit THEN ledger_stripe_share(pending_total, stripes, b.stripe) ELSE b.debits_pending END,
        debits_posted   = CASE WHEN is_debit THEN ledger_stripe_share(posted_total, stripes, b.stripe) ELSE b.debits_posted END,
        credits_pending = CASE WHEN is_debit THEN b.credits_pending ELSE ledger_stripe_share(pending_total, stripes, b.stripe) END,
        credits_posted  = CASE WHEN is_debit THEN b.credits_posted ELSE ledger_stripe_share(posted_total, stripes, b.stripe) END
    WHERE b.account_id = account.id;
END;
$$;

-- Stripe number `stripe` (0-based) of `stripes`'s share of `total`: the floor of total / stripes, one more for the
-- first (total mod stripes) stripes, so that the shares sum to the total exactly. div and mod, not `/`: numeric
-- division rounds a quotient of 17 digits to an integer.
CREATE FUNCTION ledger_stripe_share(total numeric, stripes int, stripe smallint) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT (div(total - mod(mod(total, stripes) + stripes, stripes), stripes)
            + CASE WHEN stripe < mod(mod(total, stripes) + stripes, stripes) THEN 1 ELSE 0 END)::bigint
$$;

-- As in 0007, but the stripe written stays within ±max_stripe or the write takes ledger_spread_side.
CREATE OR REPLACE FUNCTION ledger_apply_side(account ledger_accounts, is_debit boolean, pending_delta bigint, posted_delta bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    checked boolean := (is_debit AND account.flags & 1 <> 0) OR (NOT is_debit AND account.flags & 2 <> 0);
    stripe_no smallint := CASE WHEN checked THEN 0 ELSE 1 + (txid_current() % 15)::smallint END;
    max_stripe constant numeric := 576460752303423487; -- floor((2^63 - 1) / 16)
    t ledger_account_totals%ROWTYPE;
BEGIN
    -- numeric sums: a bigint one would itself overflow before the bound is checked.
    IF is_debit THEN
        UPDATE ledger_account_balances SET debits_pending = debits_pending + pending_delta, debits_posted = debits_posted + posted_delta
            WHERE account_id = account.id AND stripe = stripe_no
              AND abs(debits_pending::numeric + pending_delta) <= max_stripe AND abs(debits_posted::numeric + posted_delta) <= max_stripe;
    ELSE
        UPDATE ledger_account_balances SET credits_pending = credits_pending + pending_delta, credits_posted = credits_posted + posted_delta
            WHERE account_id = account.id AND stripe = stripe_no
              AND abs(credits_pending::numeric + pending_delta) <= max_stripe AND abs(credits_posted::numeric + posted_delta) <= max_stripe;
    END IF;
    IF NOT FOUND THEN
        PERFORM ledger_spread_side(account, is_debit, pending_delta, posted_delta);
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
