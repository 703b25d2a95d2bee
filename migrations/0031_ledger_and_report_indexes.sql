-- no-transaction
-- Issue 11: an entry is reversed at most once, enforced by the database
-- (and the reversal link is indexed, as every foreign key is); the
-- dashboard's figures read indexes, not the whole ledger: the week's
-- adjustments, redemptions by day. Built concurrently: the tables hold rows.
-- squawk-ignore-file ban-concurrent-index-creation-in-transaction
set lock_timeout = '10s';
set statement_timeout = 0;
create unique index concurrently if not exists credit_history_one_reversal_per_entry
  on public.credit_history ("reversesEntryId") where "reversesEntryId" is not null;
create index concurrently if not exists credit_history_adjustments_created_idx
  on public.credit_history ("createdAt") where type = 'admin_adjustment';
create index concurrently if not exists coupon_redemptions_redeemed_idx
  on public.coupon_redemptions ("redeemedAt");
create index concurrently if not exists gift_cards_redeemed_idx
  on public.gift_cards ("redeemedAt") where "redeemedAt" is not null;
