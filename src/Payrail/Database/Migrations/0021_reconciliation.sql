-- Reconciliation (issue 13): the books against the PSP's own report (its balance transactions), line by line.
-- A run reads the PSP's lines of a window into a session's temporary table, merges them with Payrail's movements in
-- one ordered stream, and records one item per line with its bucket and reason. Nothing here is on the payment path.

-- One row per run. A run that fails (a malformed or truncated PSP page, the deadline) ends `failed` with no items.
-- Two runs of one window never interleave: a run holds a session advisory lock on (psp, window) while it works,
-- released by PostgreSQL when its session ends, so a crashed run never blocks the next one.
CREATE TABLE reconciliation_runs (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    psp                text        NOT NULL CHECK (length(psp) BETWEEN 1 AND 50),
    window_from        timestamptz NOT NULL,
    window_to          timestamptz NOT NULL CHECK (window_to > window_from),
    trigger            text        NOT NULL CHECK (trigger IN ('schedule', 'once', 'bench')),
    dry_run            boolean     NOT NULL,
    status             text        NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    started_at         timestamptz NOT NULL,
    finished_at        timestamptz CHECK (finished_at >= started_at),
    psp_lines          bigint      NOT NULL DEFAULT 0 CHECK (psp_lines >= 0),
    skipped_lines      bigint      NOT NULL DEFAULT 0 CHECK (skipped_lines >= 0),
    items              bigint      NOT NULL DEFAULT 0 CHECK (items >= 0),
    buckets            jsonb       NOT NULL DEFAULT '{}'::jsonb,
    ledger_differences jsonb       NOT NULL DEFAULT '[]'::jsonb,
    breaks             bigint      NOT NULL DEFAULT 0 CHECK (breaks >= 0),
    result_hash        text        CHECK (length(result_hash) = 64),
    failure            text        CHECK (length(failure) <= 1000),
    CONSTRAINT reconciliation_runs_completed_has_hash CHECK ((status = 'completed') = (result_hash IS NOT NULL))
);
CREATE INDEX reconciliation_runs_window ON reconciliation_runs (psp, window_from, window_to, id DESC);

-- One row per line of a completed run: the PSP's line and/or Payrail's movement it was matched with.
--   match_key   what both sides are merged on: '<PaymentIntent id>|charge', '<PaymentIntent id>|fee',
--               '<refund id>|refund', '<refund id>|refund_failure'
CREATE TABLE reconciliation_items (
    run_id          bigint      NOT NULL REFERENCES reconciliation_runs (id),
    n               int         NOT NULL CHECK (n >= 1),
    match_key       text        NOT NULL CHECK (length(match_key) BETWEEN 1 AND 300),
    bucket          text        NOT NULL CHECK (bucket IN ('matched', 'repaired', 'missing_in_payrail', 'missing_at_psp',
                                                           'amount_mismatch', 'fee_mismatch', 'status_mismatch', 'duplicate',
                                                           'expected')),
    reason          text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    psp_line        text        CHECK (length(psp_line) BETWEEN 1 AND 255),
    payment_id      uuid,
    refund_id       uuid,
    currency        char(3),
    psp_amount_minor     bigint,
    payrail_amount_minor bigint,
    PRIMARY KEY (run_id, n)
);
CREATE INDEX reconciliation_items_breaks ON reconciliation_items (run_id, bucket) WHERE bucket NOT IN ('matched', 'expected');

-- The replay-once rule: a line Payrail was missing is replayed through the state-change path at most once, across every
-- run. The claim commits before the replay, so a crash between the two leaves the line unreplayed (and alerted), never
-- replayed twice.
CREATE TABLE reconciliation_replays (
    psp        text        NOT NULL,
    match_key  text        NOT NULL,
    run_id     bigint      NOT NULL REFERENCES reconciliation_runs (id),
    payment_id uuid        NOT NULL,
    refund_id  uuid,
    claimed_at timestamptz NOT NULL,
    PRIMARY KEY (psp, match_key)
);

-- One reconciliation.alert event per (line, bucket), ever: a re-run of a window, or an overlapping window, raising the
-- same break finds its row here and writes no second event (the outbox row is inserted by the same statement).
CREATE TABLE reconciliation_alerts (
    psp        text        NOT NULL,
    match_key  text        NOT NULL,
    bucket     text        NOT NULL,
    run_id     bigint      NOT NULL REFERENCES reconciliation_runs (id),
    event_id   uuid        NOT NULL,
    raised_at  timestamptz NOT NULL,
    PRIMARY KEY (psp, match_key, bucket)
);

-- Payrail's side of a window: captures by when they happened, refunds by when they were made (partial indexes, small
-- next to the tables they index).
CREATE INDEX payment_transitions_captured_at ON payment_transitions (at) WHERE to_status = 'captured';
CREATE INDEX refunds_created_at ON refunds (created_at) WHERE psp_refund_id IS NOT NULL;
