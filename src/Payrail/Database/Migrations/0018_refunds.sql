-- Refunds (issue 11, part 2). A refund is its own object with a lifecycle (pending → succeeded | failed | canceled, and
-- succeeded → failed when the bank sends a card refund back), recorded before the PSP is asked, so a crash between the
-- two resolves to the PSP's truth under the refund's own PSP idempotency key (its id).
--
-- The guard against refunding more than was captured lives on the payment row, under its version: a new refund
-- reserves its amount (amount_refund_pending_minor) in the payment's version-checked update, so two refunds racing for
-- the last remaining amount cannot both commit. A succeeded refund moves its amount from pending to refunded; a failed
-- or canceled one gives it back. The CHECK below says the same a second time, where the data is written.
--   refunded_from  the status a REFUNDED payment had before (captured or settled): a refund that fails after it
--                  succeeded gives the money back to the merchant and the payment returns there.
ALTER TABLE payments
    ADD COLUMN amount_refund_pending_minor bigint NOT NULL DEFAULT 0,
    ADD COLUMN refunded_from text CHECK (refunded_from IN ('captured', 'settled')),
    ADD CONSTRAINT payments_refunds_within_captured
        CHECK (amount_refund_pending_minor >= 0 AND amount_refunded_minor + amount_refund_pending_minor <= amount_captured_minor),
    ADD CONSTRAINT payments_refunded_from_only_when_refunded CHECK ((status = 'refunded') = (refunded_from IS NOT NULL));

-- No foreign key to payments, as in 0008: a key check would lock the hot payment row for every refund write.
-- The refund is always written in the batch of its payment's version-checked change, which read the payment.
--   psp_refund_id   the PSP's refund id (re_…), NULL until the PSP answered the create
--   version         every change is conditional on it (the batch aborts with PR007 when it moved)
--   sweep_*         the sweeper's bookkeeping for refunds left pending (not part of the refund's state)
CREATE TABLE refunds (
    id                  uuid        PRIMARY KEY,
    payment_id          uuid        NOT NULL,
    merchant_id         text        NOT NULL,
    amount_minor        bigint      NOT NULL CHECK (amount_minor > 0),
    currency            char(3)     NOT NULL,
    status              text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
    reason              text        CHECK (reason IN ('duplicate', 'fraudulent', 'requested_by_customer')),
    psp                 text        NOT NULL,
    psp_refund_id       text        CHECK (length(psp_refund_id) BETWEEN 1 AND 255),
    failure_reason      text        CHECK (length(failure_reason) BETWEEN 1 AND 255),
    version             int         NOT NULL CHECK (version >= 1),
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    sweep_checks        int         NOT NULL DEFAULT 0 CHECK (sweep_checks >= 0),
    sweep_next_check_at timestamptz,
    UNIQUE (psp, psp_refund_id)
);
CREATE INDEX refunds_payment ON refunds (payment_id, created_at, id);
CREATE INDEX refunds_pending ON refunds (created_at) WHERE status = 'pending';

-- accounting: partial refunds are one settlement line each (the line of 0016 was one refund line per payment).
ALTER TABLE settlement_lines
    ADD COLUMN refund_id uuid,
    DROP CONSTRAINT settlement_lines_payment_id_kind_key,
    ADD CONSTRAINT settlement_lines_one_per_refund UNIQUE NULLS NOT DISTINCT (payment_id, kind, refund_id);
