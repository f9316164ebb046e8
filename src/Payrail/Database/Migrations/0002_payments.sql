-- Payments: one row per payment, changed only by `UPDATE ... WHERE id = @id AND version = @version`.
CREATE TABLE payments (
    id                    uuid        PRIMARY KEY,
    merchant_id           text        NOT NULL REFERENCES merchants (id),
    buyer_id              text        NOT NULL,
    amount_minor          bigint      NOT NULL CHECK (amount_minor > 0),
    currency              char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status                text        NOT NULL CHECK (status IN
                                        ('initiated', 'processing', 'authorized', 'captured', 'settled', 'failed', 'voided', 'refunded')),
    capture_method        text        NOT NULL DEFAULT 'automatic' CHECK (capture_method IN ('automatic', 'manual')),
    psp                   text,
    psp_reference         text,
    amount_captured_minor bigint      NOT NULL DEFAULT 0,
    amount_refunded_minor bigint      NOT NULL DEFAULT 0,
    failure_code          text,
    failure_message       text,
    description           text,
    metadata              jsonb       NOT NULL DEFAULT '{}'::jsonb,
    version               int         NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payments_captured_within_amount CHECK (amount_captured_minor BETWEEN 0 AND amount_minor),
    CONSTRAINT payments_refunded_within_captured CHECK (amount_refunded_minor BETWEEN 0 AND amount_captured_minor),
    CONSTRAINT payments_reference_needs_psp CHECK (psp_reference IS NULL OR psp IS NOT NULL)
);

-- One PSP object maps to one payment: webhooks find their payment by (psp, psp_reference).
CREATE UNIQUE INDEX payments_psp_reference ON payments (psp, psp_reference) WHERE psp_reference IS NOT NULL;
-- Merchant listing, newest first, keyset-paginated on (created_at, id).
CREATE INDEX payments_merchant_newest ON payments (merchant_id, created_at DESC, id DESC);
-- The sweeper looks for payments stuck in a non-terminal state.
CREATE INDEX payments_in_flight ON payments (updated_at) WHERE status IN ('initiated', 'processing');

-- Append-only audit of every state change, including intermediate steps a PSP answer skipped.
CREATE TABLE payment_transitions (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id  uuid        NOT NULL REFERENCES payments (id),
    from_status text        CHECK (from_status IN
                                ('initiated', 'processing', 'authorized', 'captured', 'settled', 'failed', 'voided', 'refunded')),
    to_status   text        NOT NULL CHECK (to_status IN
                                ('initiated', 'processing', 'authorized', 'captured', 'settled', 'failed', 'voided', 'refunded')),
    cause       text        NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_transitions_payment ON payment_transitions (payment_id, id);

CREATE TRIGGER payment_transitions_append_only BEFORE UPDATE OR DELETE ON payment_transitions
    FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER payment_transitions_no_truncate BEFORE TRUNCATE ON payment_transitions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();
