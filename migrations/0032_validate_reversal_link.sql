-- The reversal link added NOT VALID in 0030, validated now: VALIDATE scans
-- the ledger under a lock that lets the app go on reading and writing.
set local lock_timeout = '3s';
set local statement_timeout = '1800s';

alter table public.credit_history validate constraint "credit_history_reversesEntryId_fkey";
