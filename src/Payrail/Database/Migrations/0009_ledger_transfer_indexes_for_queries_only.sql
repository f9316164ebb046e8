-- Every payment inserts its ledger transfers into each index of ledger_transfers. Three of them served
-- neither a query nor a constraint any more:
--   ledger_transfers_debit / ledger_transfers_credit: they backed the foreign keys to ledger_accounts
--     (dropped in 0008; accounts can be neither deleted nor re-keyed). Every payment posts to the same
--     few accounts, so each insert landed on the same hot leaf page of each index.
--   ledger_transfers_journal_entry: no query looks transfers up by journal entry; `payrail ledger
--     verify` reads the whole table with sequential scans and groups by journal entry itself.
-- Kept: the primary key (a retried operation cannot post twice), ledger_transfers_resolve_once (a
-- pending transfer is resolved once) and ledger_transfers_payment (a payment's transfers).
DROP INDEX IF EXISTS ledger_transfers_debit;
DROP INDEX IF EXISTS ledger_transfers_credit;
DROP INDEX IF EXISTS ledger_transfers_journal_entry;
