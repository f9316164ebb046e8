-- Reconciliation items are written as one binary COPY per run (issue 13, `bench reconcile`: a million PSP lines are two
-- million items). Measured on 600,000 items, the items' backend spent 3.9 CPU s, most of it on what no reader needs:
--   * the foreign key to reconciliation_runs: one queued trigger and one lookup of the same run per row, run after the
--     COPY ends (seconds before the commit). The run is proven to exist, and to be this run's own, by the statement
--     that completes it in the items' transaction (UPDATE ... WHERE id = run AND status = 'running' must change one row,
--     or nothing commits);
--   * the primary key (run_id, n): a unique index entry per row. n is numbered by the run's one writer; every reader
--     asks for a run's breaks (the partial index below) or counts a run's items, never one item by n.
-- What readers use stays: reconciliation_items_breaks (run_id, bucket) for the breaks `payrail reconcile` prints and the
-- dashboard's alert reasons, and every CHECK.
ALTER TABLE reconciliation_items DROP CONSTRAINT reconciliation_items_run_id_fkey;
ALTER TABLE reconciliation_items DROP CONSTRAINT reconciliation_items_pkey;
