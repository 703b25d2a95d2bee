-- Decision: an append-only record of every change made through this tool,
-- written in the same transaction as the change it records, that proves it
-- wasn't altered (security.md §4): every row carries a gapless sequence
-- number, the hash of the row before it and its own hash over a canonical
-- encoding of its fields, all filled in by the database. The login that
-- connected (session_user) is recorded by the database too, whatever the
-- client sent, so it can't be forged; `actor` is the name the operator gave.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

-- The head of the chain: the last row's number and hash. Appending a row
-- locks it until commit, so numbers are gapless and in commit order.
create table if not exists creditdesk.audit_chain_head (
  id boolean primary key default true constraint audit_chain_head_one_row check (id),
  seq bigint not null,
  hash text not null
);
insert into creditdesk.audit_chain_head (id, seq, hash)
values (true, 0, repeat('0', 64))
on conflict do nothing;

create table if not exists public.admin_audit_log (
  id bigserial primary key,
  seq bigint not null constraint admin_audit_log_seq_key unique,
  login text not null,
  actor text not null constraint admin_audit_log_actor_check check (btrim(actor) <> ''),
  action text not null constraint admin_audit_log_action_check check (btrim(action) <> ''),
  "entityType" text not null,
  "entityId" text,
  reason text,
  details jsonb not null default '{}'::jsonb,
  "createdAt" timestamptz not null default now(),
  "prevHash" text not null,
  hash text not null
);

-- The canonical encoding: a JSON array of the fields in a fixed order, as
-- PostgreSQL prints jsonb (deterministic), the time in UTC to the
-- microsecond; SHA-256 of its UTF-8 bytes, in hex. `creditdesk audit verify`
-- recomputes it with its own copy of this expression.
create or replace function creditdesk.audit_hash(
  p_seq bigint, p_id bigint, p_prev_hash text, p_login text, p_actor text, p_action text,
  p_entity_type text, p_entity_id text, p_reason text, p_details jsonb, p_created_at timestamptz
) returns text
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  -- (PL/pgSQL, not SQL: its plan is kept for the session, and it runs on
  -- every append.)
  return encode(sha256(convert_to(jsonb_build_array(
    p_seq, p_id, p_prev_hash, p_login, p_actor, p_action, p_entity_type, p_entity_id, p_reason,
    p_details, to_char(p_created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text,
    'UTF8')), 'hex');
end $$;

create or replace function creditdesk.audit_append() returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  head record;
begin
  select seq, hash into head from creditdesk.audit_chain_head where id for update;
  new.seq := head.seq + 1;
  new."prevHash" := head.hash;
  new.login := session_user;
  new."createdAt" := now();
  new.details := coalesce(new.details, '{}'::jsonb);
  new.hash := creditdesk.audit_hash(new.seq, new.id, new."prevHash", new.login, new.actor,
                                    new.action, new."entityType", new."entityId", new.reason,
                                    new.details, new."createdAt");
  update creditdesk.audit_chain_head set seq = new.seq, hash = new.hash where id;
  return new;
end $$;

create or replace function creditdesk.audit_append_only() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception 'admin_audit_log is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end $$;

drop trigger if exists admin_audit_log_chain on public.admin_audit_log;
create trigger admin_audit_log_chain
  before insert on public.admin_audit_log
  for each row execute function creditdesk.audit_append();
drop trigger if exists admin_audit_log_no_update on public.admin_audit_log;
create trigger admin_audit_log_no_update
  before update or delete on public.admin_audit_log
  for each row execute function creditdesk.audit_append_only();
drop trigger if exists admin_audit_log_no_truncate on public.admin_audit_log;
create trigger admin_audit_log_no_truncate
  before truncate on public.admin_audit_log
  for each statement execute function creditdesk.audit_append_only();

select creditdesk.secure();
