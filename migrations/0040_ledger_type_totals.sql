-- Issue 10 §4: opening the user with a million entries must not sum them.
-- A tracked ledger (creditdesk.ledger_tracked, the heavy ones) also keeps
-- its totals by type, beside its sums by month, day and hour, in the same
-- triggers; the overview reads those few rows instead of the ledger.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

create table if not exists creditdesk.ledger_type_totals (
  "userId" integer not null,
  type text not null,
  total bigint not null,
  entries bigint not null,
  constraint ledger_type_totals_pkey primary key ("userId", type)
);

-- As in 0033, plus the totals by type of tracked ledgers.
create or replace function creditdesk.ledger_apply(p_users integer[], p_times timestamptz[],
                                                   p_types text[], p_amounts integer[],
                                                   p_signs integer[])
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_parts integer[];
begin
  select array_agg(distinct (hashint4(u) & 63) order by (hashint4(u) & 63)) into v_parts
  from unnest(p_users) u;
  if v_parts is null then
    return;
  end if;
  perform creditdesk.ledger_lock(v_parts);
  insert into creditdesk.ledger_daily as d (day, type, part, credited, debited, "creditEntries",
                                            "debitEntries")
  select * from (
    select (r.t at time zone 'UTC')::date, r.k, (hashint4(r.u) & 63) as part,
           coalesce(sum(r.s * r.a) filter (where r.a > 0), 0) as credited,
           coalesce(-sum(r.s * r.a) filter (where r.a < 0), 0) as debited,
           coalesce(sum(r.s) filter (where r.a > 0), 0) as credit_entries,
           coalesce(sum(r.s) filter (where r.a < 0), 0) as debit_entries
    from unnest(p_users, p_times, p_types, p_amounts, p_signs) r(u, t, k, a, s)
    join creditdesk.ledger_partitions p on p.part = (hashint4(r.u) & 63) and p.ready
    group by 1, 2, 3) g
  where (g.credited, g.debited, g.credit_entries, g.debit_entries) <> (0, 0, 0, 0)
  order by 1, 2, 3
  on conflict (day, type, part) do update
    set credited = d.credited + excluded.credited, debited = d.debited + excluded.debited,
        "creditEntries" = d."creditEntries" + excluded."creditEntries",
        "debitEntries" = d."debitEntries" + excluded."debitEntries";
  if exists (select 1 from creditdesk.ledger_partitions where not ready) then
    insert into creditdesk.ledger_pending (xid, day, type, part, credited, debited,
                                           "creditEntries", "debitEntries")
    select pg_current_xact_id(), (r.t at time zone 'UTC')::date, r.k, (hashint4(r.u) & 63),
           coalesce(sum(r.s * r.a) filter (where r.a > 0), 0),
           coalesce(-sum(r.s * r.a) filter (where r.a < 0), 0),
           coalesce(sum(r.s) filter (where r.a > 0), 0),
           coalesce(sum(r.s) filter (where r.a < 0), 0)
    from unnest(p_users, p_times, p_types, p_amounts, p_signs) r(u, t, k, a, s)
    join creditdesk.ledger_partitions p on p.part = (hashint4(r.u) & 63) and not p.ready
    group by 2, 3, 4;
  end if;
  insert into creditdesk.ledger_sums as s ("userId", grain, start, total, entries)
  select * from (
    select r.u, g.grain, date_trunc(g.unit, r.t, 'UTC'), sum(r.s * r.a) as total,
           sum(r.s) as entries
    from unnest(p_users, p_times, p_amounts, p_signs) r(u, t, a, s)
    join creditdesk.ledger_tracked t on t."userId" = r.u
    cross join (values ('m'::text, 'month'), ('d'::text, 'day'), ('h'::text, 'hour')) g(grain, unit)
    group by 1, 2, 3) x
  where (x.total, x.entries) <> (0, 0)
  order by 1, 2, 3
  on conflict ("userId", grain, start) do update
    set total = s.total + excluded.total, entries = s.entries + excluded.entries;
  insert into creditdesk.ledger_type_totals as s ("userId", type, total, entries)
  select * from (
    select r.u, r.k, sum(r.s * r.a) as total, sum(r.s) as entries
    from unnest(p_users, p_types, p_amounts, p_signs) r(u, k, a, s)
    join creditdesk.ledger_tracked t on t."userId" = r.u
    group by 1, 2) x
  where (x.total, x.entries) <> (0, 0)
  order by 1, 2
  on conflict ("userId", type) do update
    set total = s.total + excluded.total, entries = s.entries + excluded.entries;
end $$;

create or replace function creditdesk.ledger_apply_one(p_user integer, p_at timestamptz,
                                                       p_type text, p_amount integer,
                                                       p_sign integer)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_part integer := hashint4(p_user) & 63;
  v_ready boolean;
  v_credited bigint := case when p_amount > 0 then p_sign * p_amount else 0 end;
  v_debited bigint := case when p_amount < 0 then -p_sign * p_amount else 0 end;
  v_credits bigint := case when p_amount > 0 then p_sign else 0 end;
  v_debits bigint := case when p_amount < 0 then p_sign else 0 end;
begin
  perform creditdesk.ledger_lock(array[v_part]);
  select ready into v_ready from creditdesk.ledger_partitions where part = v_part;
  if v_ready then
    insert into creditdesk.ledger_daily as d (day, type, part, credited, debited, "creditEntries",
                                              "debitEntries")
    values ((p_at at time zone 'UTC')::date, p_type, v_part, v_credited, v_debited, v_credits,
            v_debits)
    on conflict (day, type, part) do update
      set credited = d.credited + excluded.credited, debited = d.debited + excluded.debited,
          "creditEntries" = d."creditEntries" + excluded."creditEntries",
          "debitEntries" = d."debitEntries" + excluded."debitEntries";
  else
    insert into creditdesk.ledger_pending (xid, day, type, part, credited, debited, "creditEntries",
                                           "debitEntries")
    values (pg_current_xact_id(), (p_at at time zone 'UTC')::date, p_type, v_part, v_credited,
            v_debited, v_credits, v_debits);
  end if;
  if exists (select 1 from creditdesk.ledger_tracked where "userId" = p_user) then
    insert into creditdesk.ledger_sums as s ("userId", grain, start, total, entries)
    values (p_user, 'h', date_trunc('hour', p_at, 'UTC'), p_sign * p_amount, p_sign),
           (p_user, 'd', date_trunc('day', p_at, 'UTC'), p_sign * p_amount, p_sign),
           (p_user, 'm', date_trunc('month', p_at, 'UTC'), p_sign * p_amount, p_sign)
    on conflict ("userId", grain, start) do update
      set total = s.total + excluded.total, entries = s.entries + excluded.entries;
    insert into creditdesk.ledger_type_totals as s ("userId", type, total, entries)
    values (p_user, p_type, p_sign * p_amount, p_sign)
    on conflict ("userId", type) do update
      set total = s.total + excluded.total, entries = s.entries + excluded.entries;
  end if;
end $$;

create or replace function creditdesk.ledger_rollup_truncate()
returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  delete from creditdesk.ledger_daily;
  delete from creditdesk.ledger_sums;
  delete from creditdesk.ledger_type_totals;
  return null;
end $$;

create or replace function creditdesk.ledger_track(p_user integer)
returns boolean
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_part integer := (hashint4(p_user) & 63);
begin
  perform pg_advisory_xact_lock(1131766852, v_part);
  if exists (select 1 from creditdesk.ledger_tracked where "userId" = p_user) then
    return false;
  end if;
  update creditdesk.ledger_partitions
  set version = nextval('creditdesk.ledger_state_version'), "changedAt" = now()
  where part = v_part;
  insert into creditdesk.ledger_tracked ("userId") values (p_user);
  delete from creditdesk.ledger_sums where "userId" = p_user;
  insert into creditdesk.ledger_sums ("userId", grain, start, total, entries)
  select p_user, g.grain, date_trunc(g.unit, h."createdAt", 'UTC'), sum(h.amount), count(*)
  from public.credit_history h
  cross join (values ('m'::text, 'month'), ('d'::text, 'day'), ('h'::text, 'hour')) g(grain, unit)
  where h."userId" = p_user
  group by 2, 3;
  delete from creditdesk.ledger_type_totals where "userId" = p_user;
  insert into creditdesk.ledger_type_totals ("userId", type, total, entries)
  select p_user, h.type::text, sum(h.amount), count(*)
  from public.credit_history h
  where h."userId" = p_user
  group by 2;
  return true;
end $$;

-- The ledgers tracked already get their totals by type. Writers of the
-- ledger wait for this to commit (SHARE blocks them; they then run the
-- functions above), so no entry is both missed by the scan and by the new
-- triggers' code. Only a few heavy ledgers are tracked, so the wait is short.
lock table public.credit_history in share mode;
insert into creditdesk.ledger_type_totals ("userId", type, total, entries)
select h."userId", h.type::text, sum(h.amount), count(*)
from creditdesk.ledger_tracked t
join public.credit_history h on h."userId" = t."userId"
group by 1, 2;

-- What the overview reads, per user and type: the kept totals of a tracked
-- ledger, the sums of any other one.
-- (Per user, laterally, so that "is it tracked" is asked once, before
-- any entry is read.)
create or replace view creditdesk.ledger_totals_by_type as
select u.id as "userId", x.type, x.entries, x.total
from public.users u
cross join lateral (
  select t.type, t.entries, t.total
  from creditdesk.ledger_type_totals t
  where t."userId" = u.id and t.entries <> 0
    and exists (select 1 from creditdesk.ledger_tracked k where k."userId" = u.id)
  union all
  select h.type::text, count(*)::int8, coalesce(sum(h.amount), 0)::int8
  from public.credit_history h
  where h."userId" = u.id
    and not exists (select 1 from creditdesk.ledger_tracked k where k."userId" = u.id)
  group by h.type
) x;

select creditdesk.secure();
