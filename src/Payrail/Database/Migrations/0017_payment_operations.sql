-- Capture and void (issue 11) each consume an authorization, and only one of them may. Before any PSP call a request
-- claims the payment's one pending operation here, in one statement that holds the payment row at the version it read
-- (FOR SHARE, re-checked after any wait) and commits at once; the partial unique index below decides every race, so a
-- second capture or void of the same authorization finds the pending row and is answered 409 without calling the PSP:
-- two PSP calls that could both succeed are never sent. The row is resolved in the transaction that records the
-- outcome (succeeded) or the PSP's refusal (refused: the authorization is free again).
--   psp_idempotency_key  the PSP's own key for this operation ('<payment id>:<kind>:<operation id>'). Stripe refuses a
--                        key reused with other parameters, so each operation has its own.
--   psp_attempt          1 = the call goes under psp_idempotency_key; n > 1 = '<psp_idempotency_key>:n'. Raised (by a
--                        conditional UPDATE, before the call) when a resume finds the authorization still open at the PSP:
--                        the earlier call did nothing there, but Stripe may have saved a 500 under its key and would
--                        replay it for 24 h. The PaymentIntent itself refuses a second capture, or a cancel after one.
--   scope, idempotency_key  the client's Idempotency-Key that claimed it: its retry after a crash resumes this row.
CREATE TABLE payment_operations (
    id                  uuid        PRIMARY KEY,
    payment_id          uuid        NOT NULL REFERENCES payments (id),
    kind                text        NOT NULL CHECK (kind IN ('capture', 'void')),
    amount_minor        bigint      NOT NULL CHECK (amount_minor > 0),
    reason              text        CHECK (reason IN ('duplicate', 'fraudulent', 'requested_by_customer', 'abandoned')),
    psp_idempotency_key text        NOT NULL UNIQUE CHECK (length(psp_idempotency_key) BETWEEN 1 AND 240),
    psp_attempt         int         NOT NULL DEFAULT 1 CHECK (psp_attempt BETWEEN 1 AND 10),
    scope               text        NOT NULL,
    idempotency_key     text        NOT NULL,
    status              text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'refused')),
    created_at          timestamptz NOT NULL,
    resolved_at         timestamptz,
    CONSTRAINT payment_operations_resolved_when_not_pending CHECK ((status = 'pending') = (resolved_at IS NULL)),
    CONSTRAINT payment_operations_reason_only_on_void CHECK (kind = 'void' OR reason IS NULL)
);
-- At most one operation in flight per payment: the claim's ON CONFLICT target.
CREATE UNIQUE INDEX payment_operations_one_pending ON payment_operations (payment_id) WHERE status = 'pending';
CREATE INDEX payment_operations_by_payment ON payment_operations (payment_id);
