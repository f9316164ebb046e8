-- The stuck-payment sweeper (Sweeper/, issue 9). A payment left initiated or processing (a lost PSP answer, a
-- timeout, a crash, a webhook that never came) is asked about again by the worker until the PSP's truth is recorded,
-- through the one state-change path. What the sweeper needs on the row, and why:
--   payment_method        the PSP token the buyer paid with: with no PSP reference recorded, the sweeper re-issues the
--                         create under the payment's PSP idempotency key (0012), which needs the same parameters.
--                         NULL on rows written before this migration: those are only searched, never re-created.
--   sweep_checks          how many times the sweeper asked the PSP about this payment; sets the backoff.
--   sweep_next_check_at   not asked again before this (per-payment backoff: 1 min, 5 min x5, then hourly); NULL: due
--                         once the payment is older than Sweeper:Threshold.
--   sweep_lease_until     a sweeper took the payment until then (leased by UPDATE ... FOR UPDATE SKIP LOCKED, committed
--                         at once so no transaction stays open across PSP calls); other sweepers skip it meanwhile, and
--                         a sweeper that died leaves it to the next one once the lease ran out.
--   sweep_leased_by       which sweeper holds the lease: only that one records the check's result.
--   sweep_create_sent_at  when the sweeper last sent a create for it: a search finding nothing is believed only a
--                         search-freshness window after the last request that could have created it.
-- None of these is part of the payment's state: they change without its version, never through PaymentTransitions.
ALTER TABLE payments
    ADD COLUMN payment_method       text,
    ADD COLUMN sweep_checks         int         NOT NULL DEFAULT 0 CHECK (sweep_checks >= 0),
    ADD COLUMN sweep_next_check_at  timestamptz,
    ADD COLUMN sweep_lease_until    timestamptz,
    ADD COLUMN sweep_leased_by      uuid,
    ADD COLUMN sweep_create_sent_at timestamptz;

-- Authorizations waiting for capture, oldest first: the sweeper voids those past Payments:AuthorizationExpiry.
CREATE INDEX payments_authorized ON payments (updated_at) WHERE status = 'authorized';

-- Catch-up for lost webhooks: the newest PSP event the worker has applied, per PSP (NULL: none yet). It pages
-- GET /v1/events forward from here; an event applied twice changes nothing (the state path answers AlreadyApplied or
-- Stale), so the cursor moves after a page is applied, never before. One worker pages at a time: it leases the row
-- (lease_until, leased_by) the way the sweeper leases payments.
CREATE TABLE psp_event_cursors (
    psp              text        PRIMARY KEY,
    event_id         text,
    event_created_at timestamptz,
    lease_until      timestamptz,
    leased_by        uuid,
    updated_at       timestamptz NOT NULL,
    CONSTRAINT psp_event_cursors_whole CHECK ((event_id IS NULL) = (event_created_at IS NULL))
);
