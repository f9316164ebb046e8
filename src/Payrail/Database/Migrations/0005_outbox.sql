-- Transactional outbox: written in the same transaction as the change it announces, relayed to
-- Kafka topic payments.v1 at least once (key = aggregate_id, the payment id).
CREATE TABLE outbox (
    id           uuid        PRIMARY KEY,
    -- Relay order: identity values follow insertion, so one payment's events leave in the order written.
    seq          bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    aggregate_id uuid        NOT NULL,
    event_type   text        NOT NULL,
    payload      jsonb       NOT NULL,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     int         NOT NULL DEFAULT 0 CHECK (attempts >= 0)
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
