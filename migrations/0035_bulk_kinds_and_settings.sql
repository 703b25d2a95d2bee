-- Issue 11: the new kinds of request that wait for a second person (a file
-- of adjustments, a bulk fail-and-refund, a reversal), and the threshold
-- above which a bulk refund waits (credits in all; the single `batches
-- fail` has none: a refund gives back exactly what a batch charged). The
-- widened rules are added NOT VALID (no scan under the lock) and validated
-- in the next migration; new rows must satisfy them at once. Each old rule
-- is dropped in the transaction that adds its wider replacement, so no
-- moment is without one.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

-- squawk-ignore ban-drop-constraint
alter table creditdesk.approval_requests drop constraint if exists approval_requests_kind_check;
alter table creditdesk.approval_requests
  add constraint approval_requests_kind_check check (kind in (
    'credits.adjust', 'gift_card.issue', 'credits.adjust_many', 'batch.fail_many',
    'credits.reverse')) not valid;

-- squawk-ignore ban-drop-constraint
alter table creditdesk.settings drop constraint if exists settings_key_check;
alter table creditdesk.settings
  add constraint settings_key_check check (key in (
    'approval.adjustment_credits', 'approval.gift_card_issue_credits',
    'approval.expires_after_hours', 'approval.bulk_refund_credits')) not valid;
insert into creditdesk.settings (key, value) values ('approval.bulk_refund_credits', 10000)
on conflict (key) do nothing;
