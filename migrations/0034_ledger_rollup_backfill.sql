-- Issue 11: the daily sums of a ledger that had entries before 0033's
-- triggers (creditdesk.ledger_backfill: one scan that doesn't block the
-- app, then a moment in which the ledger's writers wait while the deltas
-- they kept aside are merged). On an empty ledger it costs nothing. The
-- heavy ledgers are tracked by `creditdesk migrate` afterwards
-- (creditdesk.ledger_track_heavy, from grant_privileges: its first look
-- reads the whole ledger).
set local lock_timeout = '10s';
set local statement_timeout = '3600s';

select creditdesk.ledger_backfill();
