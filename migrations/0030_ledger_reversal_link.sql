-- Issue 11 §3: an entry that undoes another names it. The reversal points
-- at the entry it reverses; the original shows it was reversed through the
-- same link (creditdesk.credit_history's "reversedByEntryId"), so the
-- ledger rows themselves are never rewritten. At most one reversal per
-- entry: the unique index of the next migration, whoever writes it.
-- A new nullable column (no rewrite) and a key added NOT VALID (no scan
-- under the lock), validated in a later migration.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

alter table public.credit_history add column if not exists "reversesEntryId" integer;
alter table public.credit_history
  add constraint "credit_history_reversesEntryId_fkey" foreign key ("reversesEntryId")
  references public.credit_history (id) on delete set null not valid;
