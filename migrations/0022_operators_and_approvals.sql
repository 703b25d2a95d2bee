-- Who may do what (security.md §2-3): five NOLOGIN group roles, an
-- operator's login being a member of one or more; the thresholds above which
-- a change waits for a second person; and the requests that wait.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

-- The group roles, when the migrating role may create roles (Supabase's
-- postgres may); otherwise `creditdesk doctor` prints the SQL for a DBA.
-- Roles belong to the whole server, so another database may have made them.
-- (A DO block: both conditions are known only at run time.)
do $$
declare
  g text;
begin
  if (select rolsuper or rolcreaterole from pg_roles where rolname = current_user) then
    foreach g in array array['creditdesk_auditor', 'creditdesk_support', 'creditdesk_finance',
                             'creditdesk_oncall', 'creditdesk_admin'] loop
      if to_regrole(g) is null then
        begin
          execute format('create role %I nologin', g);
        exception when duplicate_object or unique_violation then
          null; -- made just now by a migration of another database
        end;
      end if;
    end loop;
  end if;
end $$;

-- Settings only admins change (through creditdesk.set_setting, audited).
create table if not exists creditdesk.settings (
  key text primary key constraint settings_key_check check (key in (
    'approval.adjustment_credits', 'approval.gift_card_issue_credits',
    'approval.expires_after_hours')),
  value bigint not null constraint settings_value_check check (value >= 0),
  "updatedAt" timestamptz not null default now(),
  "updatedBy" text
);
insert into creditdesk.settings (key, value) values
  ('approval.adjustment_credits', 500),
  ('approval.gift_card_issue_credits', 10000),
  ('approval.expires_after_hours', 24)
on conflict (key) do nothing;

-- A change above a threshold, stored instead of applied. It is decided once:
-- approved (the change runs in the approver's transaction) or rejected; a
-- pending request past expiresAt is expired and can no longer be decided.
create table if not exists creditdesk.approval_requests (
  id bigserial primary key,
  kind text not null constraint approval_requests_kind_check
    check (kind in ('credits.adjust', 'gift_card.issue')),
  payload jsonb not null,
  summary text not null,
  reason text not null,
  "requestedByLogin" text not null,
  "requestedBy" text not null,
  "requestedAt" timestamptz not null default now(),
  "expiresAt" timestamptz not null,
  status text not null default 'pending' constraint approval_requests_status_check
    check (status in ('pending', 'approved', 'rejected')),
  "decidedByLogin" text,
  "decidedBy" text,
  "decidedAt" timestamptz,
  "decisionReason" text,
  result jsonb,
  "idempotencyKey" text constraint "approval_requests_idempotencyKey_key" unique,
  constraint approval_requests_decision_check check (
    (status = 'pending') = ("decidedAt" is null)
    and (status = 'pending' or ("decidedByLogin" is not null and "decidedBy" is not null))),
  constraint approval_requests_four_eyes_check check ("decidedByLogin" <> "requestedByLogin")
);
create index if not exists approval_requests_pending_idx
  on creditdesk.approval_requests ("requestedAt" desc) where status = 'pending';
create index if not exists approval_requests_requested_idx
  on creditdesk.approval_requests ("requestedAt" desc, id desc);

select creditdesk.secure();
