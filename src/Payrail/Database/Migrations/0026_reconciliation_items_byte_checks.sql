-- Reconciliation items' length checks count bytes, not characters (issue 13, `bench reconcile`): length() walks every
-- character of a UTF-8 text to count it, and on two million items perf put a sixth of the items' backend CPU there
-- (pg_mbstrlen_with_len). octet_length() reads the stored size. The new bounds are the old character bounds times 4,
-- UTF-8's longest character, so nothing the old checks accepted is refused; every value stays bounded.
ALTER TABLE reconciliation_items
    DROP CONSTRAINT reconciliation_items_match_key_check,
    DROP CONSTRAINT reconciliation_items_reason_check,
    DROP CONSTRAINT reconciliation_items_psp_line_check,
    ADD CONSTRAINT reconciliation_items_match_key_check CHECK (octet_length(match_key) BETWEEN 1 AND 1200),
    ADD CONSTRAINT reconciliation_items_reason_check CHECK (octet_length(reason) BETWEEN 1 AND 2000),
    ADD CONSTRAINT reconciliation_items_psp_line_check CHECK (octet_length(psp_line) BETWEEN 1 AND 1020);
