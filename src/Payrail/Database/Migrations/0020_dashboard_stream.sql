-- The dashboard's live stream (issue 14). A browser that reconnects with Last-Event-ID must get exactly what it missed,
-- then live rows: no gap, no duplicate. So every change of a dashboard row is appended to a per-merchant log with a
-- sequence number that increases in commit order, and the stream is a read of that log. The number comes from the
-- merchant's row in dashboard_streams, incremented in the transaction that appends: the row lock makes a second
-- append for the merchant wait for the first to commit, so a reader that sees number n also sees every number below
-- it (a database sequence would not: its numbers are taken in one order and committed in another).
-- Numbers may skip (an append refused by the event-id key still took one); readers only ask for "after n".
-- pruned_through: retention deleted every row up to this number; a stream asked to resume below it cannot (gap).
CREATE TABLE dashboard_streams (
    merchant_id    text   PRIMARY KEY,
    last_seq       bigint NOT NULL CHECK (last_seq > 0),
    pruned_through bigint NOT NULL DEFAULT 0 CHECK (pruned_through >= 0)
);

CREATE TABLE dashboard_updates (
    merchant_id           text        NOT NULL,
    seq                   bigint      NOT NULL CHECK (seq > 0),
    -- One log row per event, however many consumer groups apply it (each dashboard instance may run its own group).
    event_id              uuid        NOT NULL UNIQUE,
    event_type            text        NOT NULL,
    payment_id            uuid        NOT NULL,
    buyer_id              text        NOT NULL,
    status                text        NOT NULL,
    amount_minor          bigint      NOT NULL CHECK (amount_minor > 0),
    currency              char(3)     NOT NULL,
    amount_captured_minor bigint      NOT NULL CHECK (amount_captured_minor >= 0),
    amount_refunded_minor bigint      NOT NULL CHECK (amount_refunded_minor >= 0),
    payment_version       int         NOT NULL,
    occurred_at           timestamptz NOT NULL,
    recorded_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, seq)
);
-- Retention: the dashboard deletes rows older than Dashboard:StreamRetentionHours (a reconnect from before that reloads).
CREATE INDEX dashboard_updates_recorded ON dashboard_updates (recorded_at);

-- No new index on payments: every index there is paid by every payment's insert. The payments page reads within the
-- merchant's range of payments_merchant_newest, newest first.
