-- creditdesk's own schema: its bookkeeping, and later its views and
-- functions, live here and not in public, so the app's Data API (which
-- serves public to the anon and authenticated roles) can't reach them. The
-- runner creates the schema itself, before the migrations table it holds.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

-- Base tables the tool created itself (an empty database: the demo, tests).
-- Only those get the tool's own rules; an existing table is the app's.
create table if not exists creditdesk.created_base_tables (
  name text primary key,
  "createdAt" timestamptz not null default now()
);

-- Columns the tool added to the app's tables. A foreign key is added only
-- to a column listed here: one the app had before keeps whatever it holds.
create table if not exists creditdesk.added_columns (
  "tableName" text not null,
  "columnName" text not null,
  "addedAt" timestamptz not null default now(),
  constraint added_columns_pkey primary key ("tableName", "columnName")
);

-- The roles the app's public API connects as (Supabase). None of them may
-- touch anything the tool creates; they need not exist (plain PostgreSQL).
create or replace function creditdesk.api_roles() returns text[]
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(array_agg(rolname order by rolname), '{}')
  from pg_roles where rolname in ('anon', 'authenticated')
$$;

-- Which of the app's existing tables the tool touches, and how: the tables
-- the tool owns in public, for securing and for `doctor`.
create or replace function creditdesk.tool_tables() returns regclass[]
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select array(
    select c.oid::regclass
    from pg_class c
    where c.relnamespace = 'public'::regnamespace
      and c.relkind in ('r', 'p')
      and (c.relname in ('model_training_images', 'photo_generation_batches', 'coupons',
                         'coupon_redemptions', 'gift_cards', 'credit_history',
                         'admin_audit_log')
           or c.relname in (select name from creditdesk.created_base_tables))
    order by c.relname)
$$;

-- Row level security on, and no privileges for PUBLIC or the API roles, on
-- every table, view, sequence and function the tool created; the audit log
-- and the creditdesk schema's own tables are the owner's alone (the app's
-- service role loses its default grants there too). Run at the end of
-- every migration that creates something; changes nothing when all is well.
create or replace function creditdesk.secure() returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  rel regclass;
  seq regclass;
  fn regprocedure;
  grantee text;
  grantees text[];
  internal boolean;
begin
  for rel, internal in
    select t, coalesce(t = to_regclass('public.admin_audit_log'), false) from unnest(creditdesk.tool_tables()) t
    union all
    select c.oid::regclass, true from pg_class c
    where c.relnamespace = 'creditdesk'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
  loop
    grantees := array['public'] || creditdesk.api_roles();
    if internal and exists (select 1 from pg_roles where rolname = 'service_role') then
      grantees := grantees || array['service_role'];
    end if;
    if (select relkind from pg_class where oid = rel) in ('r', 'p') then
      execute format('alter table %s enable row level security', rel);
    end if;
    foreach grantee in array grantees loop
      execute format('revoke all on table %s from %s', rel,
                     case grantee when 'public' then 'public' else quote_ident(grantee) end);
    end loop;
    -- the serial sequences behind the table's columns
    for seq in
      select d.objid::regclass from pg_depend d join pg_class s on s.oid = d.objid
      where d.refobjid = rel and s.relkind = 'S' and d.deptype in ('a', 'i')
    loop
      foreach grantee in array grantees loop
        execute format('revoke all on sequence %s from %s', seq,
                       case grantee when 'public' then 'public' else quote_ident(grantee) end);
      end loop;
    end loop;
  end loop;
  grantees := array['public'] || creditdesk.api_roles();
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grantees := grantees || array['service_role'];
  end if;
  for fn in select p.oid::regprocedure from pg_proc p where p.pronamespace = 'creditdesk'::regnamespace loop
    foreach grantee in array grantees loop
      execute format('revoke all on function %s from %s', fn,
                     case grantee when 'public' then 'public' else quote_ident(grantee) end);
    end loop;
  end loop;
end $$;

select creditdesk.secure();
