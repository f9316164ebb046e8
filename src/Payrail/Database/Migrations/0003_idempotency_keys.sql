-- Idempotency records. PostgreSQL is the truth: the primary key (scope, key) decides every race;
-- Redis only caches. A 'processing' row whose lease expired belongs to a crashed owner and may be taken over.
CREATE TABLE idempotency_keys (
    scope               text        NOT NULL,
    key                 text        NOT NULL,
    request_fingerprint text        NOT NULL,
    payment_id          uuid,
    status              text        NOT NULL CHECK (status IN ('processing', 'completed')),
    lease_expires_at    timestamptz NOT NULL,
    response_status     int,
    -- text, not jsonb: a replay must return the stored body byte for byte.
    response_body       text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    PRIMARY KEY (scope, key),
    CONSTRAINT idempotency_completed_has_response CHECK (status = 'processing' OR response_status IS NOT NULL)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
