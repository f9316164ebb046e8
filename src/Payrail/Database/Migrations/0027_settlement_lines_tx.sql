-- Which transaction wrote each settlement line (issue 8): the settlement file writer checks for a line that committed
-- late below what it appended by counting only the lines of transactions that were still running, or not yet started,
-- when it last read (tx >= that read's snapshot xmin), instead of every line of the day (a range scan per append that
-- grew with the day). Rows written before this migration get the migration's own transaction id: counted until the
-- horizon passes it, which is at once.
ALTER TABLE settlement_lines ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX settlement_lines_date_tx ON settlement_lines (settlement_date, tx, id);
