-- The six consumers of payments.v1 (issue 10) and their inbox. Kafka delivers at least once (a relay may publish an
-- event twice, a consumer may be killed between its commit and its offset store), so each consumer makes its effect
-- exactly once by inserting (consumer, event_id) into consumer_inbox in the same transaction as the effect: a
-- redelivered event finds its row and changes nothing. Each consumer owns its tables; none reads another's.

CREATE TABLE consumer_inbox (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    event_type   text        NOT NULL,
    payment_id   uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- notifications: one row per message; the id is derived from (event, audience), so even a second event id for the same
-- fact could not mint a second message for it. sent_at is set once the sender has handed the message on.
CREATE TABLE notifications (
    id          uuid        PRIMARY KEY,
    event_id    uuid        NOT NULL,
    payment_id  uuid        NOT NULL,
    audience    text        NOT NULL CHECK (audience IN ('buyer', 'merchant')),
    recipient   text        NOT NULL,
    template    text        NOT NULL,
    subject     text        NOT NULL,
    body        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    UNIQUE (event_id, audience)
);
CREATE INDEX notifications_payment ON notifications (payment_id, created_at, id);
CREATE INDEX notifications_unsent ON notifications (event_id) WHERE sent_at IS NULL;

-- fraud: what the sliding windows count (event time, so a replay judges alike) and the reviews they produce.
CREATE TABLE fraud_observations (
    event_id     uuid        PRIMARY KEY,
    payment_id   uuid        NOT NULL,
    buyer_id     text        NOT NULL,
    instrument   text,
    kind         text        NOT NULL CHECK (kind IN ('attempt', 'decline')),
    amount_minor bigint      NOT NULL CHECK (amount_minor > 0),
    currency     char(3)     NOT NULL,
    observed_at  timestamptz NOT NULL
);
CREATE INDEX fraud_observations_buyer ON fraud_observations (buyer_id, kind, observed_at);
CREATE INDEX fraud_observations_instrument ON fraud_observations (instrument, kind, observed_at) WHERE instrument IS NOT NULL;

CREATE TABLE fraud_reviews (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE,
    payment_id  uuid        NOT NULL,
    buyer_id    text        NOT NULL,
    score       int         NOT NULL CHECK (score BETWEEN 0 AND 100),
    reasons     text[]      NOT NULL,
    reviewed_at timestamptz NOT NULL
);
CREATE INDEX fraud_reviews_payment ON fraud_reviews (payment_id, id);
CREATE INDEX fraud_reviews_time ON fraud_reviews (reviewed_at, id);

-- accounting: the settlement file of a day is written from these rows, so a redelivery cannot add a line.
-- One capture line and one refund line per payment at most (the unique key says so a second time).
CREATE TABLE settlement_lines (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    payment_id      uuid        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('capture', 'refund')),
    settlement_date date        NOT NULL,
    merchant_id     text        NOT NULL,
    currency        char(3)     NOT NULL,
    amount_minor    bigint      NOT NULL CHECK (amount_minor > 0),
    occurred_at     timestamptz NOT NULL,
    UNIQUE (payment_id, kind)
);
CREATE INDEX settlement_lines_date ON settlement_lines (settlement_date, id);
CREATE TRIGGER settlement_lines_append_only BEFORE UPDATE OR DELETE ON settlement_lines
    FOR EACH ROW EXECUTE FUNCTION refuse_mutation();

-- analytics: counters per merchant, day (UTC, of the event) and currency, one row per status.
CREATE TABLE analytics_daily (
    merchant_id  text    NOT NULL,
    day          date    NOT NULL,
    currency     char(3) NOT NULL,
    status       text    NOT NULL,
    payments     bigint  NOT NULL CHECK (payments >= 0),
    amount_minor bigint  NOT NULL CHECK (amount_minor >= 0),
    PRIMARY KEY (merchant_id, day, currency, status)
);

-- loyalty: an append-only, double-entry points ledger. A posting is two rows (the buyer's account and the programme's)
-- that sum to zero, checked at commit by a deferred constraint trigger.
CREATE TABLE loyalty_entries (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    posting_id  uuid        NOT NULL,
    account     text        NOT NULL,
    buyer_id    text        NOT NULL,
    payment_id  uuid        NOT NULL,
    event_id    uuid        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('earn', 'reverse')),
    points      bigint      NOT NULL CHECK (points <> 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (posting_id, account)
);
CREATE INDEX loyalty_entries_account ON loyalty_entries (account, id);
CREATE INDEX loyalty_entries_payment ON loyalty_entries (payment_id, kind);
CREATE TRIGGER loyalty_entries_append_only BEFORE UPDATE OR DELETE ON loyalty_entries
    FOR EACH ROW EXECUTE FUNCTION refuse_mutation();
CREATE TRIGGER loyalty_entries_no_truncate BEFORE TRUNCATE ON loyalty_entries
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation();

CREATE FUNCTION loyalty_posting_balances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT coalesce(sum(points), 0) FROM loyalty_entries WHERE posting_id = NEW.posting_id) <> 0 THEN
        RAISE EXCEPTION 'loyalty posting % does not balance', NEW.posting_id USING ERRCODE = 'PR016';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER loyalty_entries_balanced AFTER INSERT ON loyalty_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION loyalty_posting_balances();

-- merchant-dashboard: the live view's rows, one per payment, only ever moved forward by payment version.
CREATE TABLE dashboard_payments (
    payment_id            uuid        PRIMARY KEY,
    merchant_id           text        NOT NULL,
    buyer_id              text        NOT NULL,
    status                text        NOT NULL,
    amount_minor          bigint      NOT NULL,
    currency              char(3)     NOT NULL,
    amount_captured_minor bigint      NOT NULL,
    amount_refunded_minor bigint      NOT NULL,
    payment_version       int         NOT NULL,
    last_event_type       text        NOT NULL,
    updated_at            timestamptz NOT NULL
);
CREATE INDEX dashboard_payments_merchant ON dashboard_payments (merchant_id, updated_at DESC);
