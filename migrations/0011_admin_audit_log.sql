-- Decision: an append-only record of every change made through this tool,
-- written in the same transaction as the change it records.
create table if not exists public.admin_audit_log (
  id bigserial primary key,
  actor text not null constraint admin_audit_log_actor_check check (btrim(actor) <> ''),
  action text not null constraint admin_audit_log_action_check check (btrim(action) <> ''),
  "entityType" text not null,
  "entityId" text,
  reason text,
  details jsonb not null default '{}'::jsonb,
  "createdAt" timestamptz not null default now()
);

create or replace function public.admin_audit_log_append_only()
returns trigger language plpgsql as $$
begin
  raise exception 'admin_audit_log is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end $$;

drop trigger if exists admin_audit_log_no_update on public.admin_audit_log;
create trigger admin_audit_log_no_update
  before update or delete on public.admin_audit_log
  for each row execute function public.admin_audit_log_append_only();
drop trigger if exists admin_audit_log_no_truncate on public.admin_audit_log;
create trigger admin_audit_log_no_truncate
  before truncate on public.admin_audit_log
  for each statement execute function public.admin_audit_log_append_only();
