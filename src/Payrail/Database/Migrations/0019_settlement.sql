-- Settlement (issue 11, part 3): the daily step that moves captured payments to SETTLED from the PSP's balance
-- transactions, posting the fee and the move from the PSP to cash (Payrail.Domain/Ledger/LedgerPostingRules.Settle).
--
-- A merchant's payable balance is its merchant:{id} ledger account (captures − refunds − fees), per currency. A refund
-- after settlement draws on it like any refund (merchant → buyer); the account's debits_must_not_exceed_credits flag
-- keeps it from going below zero, unless the merchant is allowed to: payable_may_go_negative. Account flags are fixed
-- once an account exists (0011), so the allowance is read when the merchant's account in a currency is first created:
-- set it before the merchant's first payment in that currency. The trigger below decides it for every writer of ledger
-- accounts (the payment path, refunds, settlement, psql) in one place, instead of each writer looking the merchant up.
ALTER TABLE merchants ADD COLUMN payable_may_go_negative boolean NOT NULL DEFAULT false;

CREATE FUNCTION ledger_accounts_merchant_allowance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.owner LIKE 'merchant:%' AND NEW.flags & 1 <> 0
       AND EXISTS (SELECT 1 FROM merchants WHERE id = substr(NEW.owner, 10) AND payable_may_go_negative) THEN
        NEW.flags := NEW.flags & ~1;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER ledger_accounts_merchant_allowance BEFORE INSERT ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_accounts_merchant_allowance();

-- One row per settled payment, written in the batch that moves it to SETTLED (with its transfers): what the PSP's
-- balance transaction said, so the books can be traced to it. The primary key is the second guard (after the state
-- machine and the version check) against settling a payment twice; (psp, balance_transaction) against one balance
-- transaction settling two payments.
CREATE TABLE payment_settlements (
    payment_id          uuid        PRIMARY KEY REFERENCES payments (id),
    psp                 text        NOT NULL CHECK (length(psp) BETWEEN 1 AND 50),
    balance_transaction text        NOT NULL CHECK (length(balance_transaction) BETWEEN 1 AND 255),
    currency            char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount_minor        bigint      NOT NULL CHECK (amount_minor > 0),
    fee_minor           bigint      NOT NULL CHECK (fee_minor >= 0 AND fee_minor <= amount_minor),
    net_minor           bigint      NOT NULL CHECK (net_minor = amount_minor - fee_minor),
    available_on        timestamptz NOT NULL,
    run_date            date        NOT NULL,
    settled_at          timestamptz NOT NULL,
    UNIQUE (psp, balance_transaction)
);
CREATE INDEX payment_settlements_run_date ON payment_settlements (run_date);
CREATE TRIGGER payment_settlements_append_only BEFORE UPDATE OR DELETE ON payment_settlements
    FOR EACH ROW EXECUTE FUNCTION refuse_mutation();

-- One row per settlement run (scheduled or `payrail settle --once`): what `payrail status` and the metrics report.
CREATE TABLE settlement_runs (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_date     date        NOT NULL,
    trigger      text        NOT NULL CHECK (trigger IN ('schedule', 'once')),
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL CHECK (finished_at >= started_at),
    lines_read   int         NOT NULL CHECK (lines_read >= 0),
    settled      int         NOT NULL CHECK (settled >= 0),
    unchanged    int         NOT NULL CHECK (unchanged >= 0),
    not_yet      int         NOT NULL CHECK (not_yet >= 0),
    refused      int         NOT NULL CHECK (refused >= 0)
);
CREATE INDEX settlement_runs_finished ON settlement_runs (finished_at DESC);
