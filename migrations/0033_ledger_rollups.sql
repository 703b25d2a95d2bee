-- Issue 11 §4 and §5: the ledger as sums, kept right whoever writes it.
--
-- The app books generation charges itself, so nothing here relies on
-- creditdesk's functions: statement-level triggers on credit_history turn
-- every insert, update, delete and truncate, from anyone, into deltas on
--   creditdesk.ledger_daily  credits in and out per UTC day, type and
--                            partition of users (the dashboard; a partition
--                            is hashint4("userId") & 63, so concurrent
--                            writers rarely share a row), and
--   creditdesk.ledger_sums   per month, day and hour of the ledgers being
--                            tracked (the heavy ones: a balance at any point
--                            of a million-entry ledger is a few dozen sums
--                            plus the entries of one hour).
-- Deltas commute, so concurrent writers need no order between them.
--
-- A ledger starts being tracked (creditdesk.ledger_track) under its
-- partition's advisory lock, held exclusively, after every writer of the
-- partition has committed; each writer's trigger holds the lock shared
-- until commit. So a writer that began before is in the tracking scan, and
-- one that comes after waits, then sees the ledger tracked and adds its
-- deltas. A ledger that had entries before these triggers gets its daily
-- sums from one scan (0034); writers meanwhile keep their deltas aside
-- (creditdesk.ledger_pending) and the ones the scan couldn't see are merged.
-- A REPEATABLE READ or SERIALIZABLE writer can't see such a change made
-- after its snapshot, so it is asked to retry (SQLSTATE 40001), in that
-- moment only.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

-- The partitions and whether their daily sums are complete; `version`
-- changes (from ledger_state_version) with anything the sums cover.
create table if not exists creditdesk.ledger_partitions (
  part integer primary key constraint ledger_partitions_part_check check (part between 0 and 63),
  ready boolean not null default false,
  version bigint not null default 0,
  "changedAt" timestamptz not null default now()
);
create sequence if not exists creditdesk.ledger_state_version;

create table if not exists creditdesk.ledger_daily (
  day date not null,
  type text not null,
  part integer not null,
  -- the sum of the positive amounts, and minus the sum of the negative ones
  credited bigint not null default 0,
  debited bigint not null default 0,
  "creditEntries" bigint not null default 0,
  "debitEntries" bigint not null default 0,
  constraint ledger_daily_pkey primary key (day, type, part)
);

create table if not exists creditdesk.ledger_tracked (
  "userId" integer primary key,
  "trackedAt" timestamptz not null default now()
);

-- grain: m(onth), d(ay), h(our); start: the UTC start of the period.
create table if not exists creditdesk.ledger_sums (
  "userId" integer not null,
  grain text not null constraint ledger_sums_grain_check check (grain in ('m', 'd', 'h')),
  start timestamptz not null,
  total bigint not null,
  entries bigint not null,
  constraint ledger_sums_pkey primary key ("userId", grain, start)
);

-- How far creditdesk.ledger_track_heavy has looked for ledgers to track.
create table if not exists creditdesk.ledger_scan (
  id boolean primary key default true constraint ledger_scan_one_row check (id),
  "lastEntryId" bigint not null default 0
);
insert into creditdesk.ledger_scan (id) values (true) on conflict do nothing;

-- The advisory lock of a partition: (1131766852, part), shared by writers.
create or replace function creditdesk.ledger_lock(p_parts integer[])
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  p integer;
  v_latest bigint;
begin
  foreach p in array p_parts loop
    perform pg_advisory_xact_lock_shared(1131766852, p);
  end loop;
  if current_setting('transaction_isolation') <> 'read committed' then
    -- a sequence is read as it is now, whatever the snapshot
    select case when is_called then last_value else 0 end into v_latest
    from creditdesk.ledger_state_version;
    if v_latest > (select coalesce(max(version), 0) from creditdesk.ledger_partitions) then
      raise exception 'creditdesk changed what its ledger sums cover after this transaction began: try it again'
        using errcode = 'serialization_failure';
    end if;
  end if;
end $$;

-- Deltas for a partition whose daily sums are not complete yet, kept with
-- the transaction that wrote them until the backfill (0034) merges the ones
-- its scan could not see.
create table if not exists creditdesk.ledger_pending (
  xid xid8 not null,
  day date not null,
  type text not null,
  part integer not null,
  credited bigint not null,
  debited bigint not null,
  "creditEntries" bigint not null,
  "debitEntries" bigint not null
);

-- Applies changed ledger rows, given as parallel arrays (sign: +1 a row
-- that arrived, -1 one that left), to every sum that covers them.
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
end $$;

-- One changed row (the app's charge, every creditdesk change): the same
-- as ledger_apply, as a few single-row statements.
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
  end if;
end $$;

-- The triggers: whatever reached (INSERT) or left (DELETE) the ledger in
-- one statement, as its transition table changed_rows (one row, the common
-- case, the short way).
create or replace function creditdesk.ledger_rollup_change()
returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_sign integer := case when tg_op = 'DELETE' then -1 else 1 end;
  n bigint;
  v_user integer;
  v_at timestamptz;
  v_type text;
  v_amount integer;
begin
  select count(*), min("userId"), min("createdAt"), min(type::text), min(amount)
    into n, v_user, v_at, v_type, v_amount
  from changed_rows;
  if n = 1 then
    perform creditdesk.ledger_apply_one(v_user, v_at, v_type, v_amount, v_sign);
  elsif n > 1 then
    perform creditdesk.ledger_apply(array_agg("userId"), array_agg("createdAt"),
                                    array_agg(type::text), array_agg(amount),
                                    array_fill(v_sign, array[count(*)::int]))
    from changed_rows;
  end if;
  return null;
end $$;

-- An update is its old rows leaving and its new ones arriving; a row whose
-- user, time, type and amount stay the same changes no sum.
create or replace function creditdesk.ledger_rollup_update()
returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform creditdesk.ledger_apply(array_agg(u), array_agg(t), array_agg(k), array_agg(a),
                                  array_agg(s))
  from (select o."userId" as u, o."createdAt" as t, o.type::text as k, o.amount as a, -1 as s
        from old_rows o
        where not exists (select 1 from new_rows n
                          where n.id = o.id and n."userId" = o."userId"
                            and n."createdAt" = o."createdAt" and n.type = o.type
                            and n.amount = o.amount)
        union all
        select n."userId", n."createdAt", n.type::text, n.amount, 1
        from new_rows n
        where not exists (select 1 from old_rows o
                          where o.id = n.id and o."userId" = n."userId"
                            and o."createdAt" = n."createdAt" and o.type = n.type
                            and o.amount = n.amount)) c;
  return null;
end $$;

-- TRUNCATE holds the ledger exclusively: every sum is simply gone.
create or replace function creditdesk.ledger_rollup_truncate()
returns trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  delete from creditdesk.ledger_daily;
  delete from creditdesk.ledger_sums;
  return null;
end $$;

drop trigger if exists credit_history_rollup_insert on public.credit_history;
create trigger credit_history_rollup_insert
  after insert on public.credit_history
  referencing new table as changed_rows
  for each statement execute function creditdesk.ledger_rollup_change();
drop trigger if exists credit_history_rollup_delete on public.credit_history;
create trigger credit_history_rollup_delete
  after delete on public.credit_history
  referencing old table as changed_rows
  for each statement execute function creditdesk.ledger_rollup_change();
drop trigger if exists credit_history_rollup_update on public.credit_history;
create trigger credit_history_rollup_update
  after update on public.credit_history
  referencing old table as old_rows new table as new_rows
  for each statement execute function creditdesk.ledger_rollup_update();
drop trigger if exists credit_history_rollup_truncate on public.credit_history;
create trigger credit_history_rollup_truncate
  after truncate on public.credit_history
  for each statement execute function creditdesk.ledger_rollup_truncate();

-- Creating the triggers locked the ledger against writers until this
-- commits, so an empty ledger is empty for sure: its sums are complete from
-- the start. Otherwise the next migration fills them in.
insert into creditdesk.ledger_partitions (part, ready)
select p, not exists (select 1 from public.credit_history)
from generate_series(0, 63) p
on conflict (part) do nothing;

-- Starts keeping sums of one ledger: under its partition's exclusive lock
-- (so every entry is either in the scan below or adds its own delta), the
-- sums of every entry so far. False when it was tracked already.
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
  return true;
end $$;

-- Tracks the ledgers that gained at least p_min entries since the last
-- look (the first look sees them all). `creditdesk migrate` runs it.
create or replace function creditdesk.ledger_track_heavy(p_min integer default 2000)
returns integer
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_from bigint;
  v_to bigint;
  v_user integer;
  v_tracked integer := 0;
begin
  select "lastEntryId" into v_from from creditdesk.ledger_scan where id for update;
  select coalesce(max(id), 0) into v_to from public.credit_history;
  for v_user in
    select h."userId" from public.credit_history h
    where h.id > v_from and h.id <= v_to
    group by h."userId"
    having count(*) >= p_min
    order by 1
  loop
    if creditdesk.ledger_track(v_user) then
      v_tracked := v_tracked + 1;
    end if;
  end loop;
  update creditdesk.ledger_scan set "lastEntryId" = v_to where id;
  return v_tracked;
end $$;

-- The daily sums of the entries written before the triggers existed: one
-- scan, without blocking writers, whose snapshot is kept; then, with every
-- partition's lock held (writers wait for this moment only), the deltas
-- writers kept aside that the scan could not see are added, and the sums
-- declared complete. Does nothing when they are complete already.
create or replace function creditdesk.ledger_backfill()
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_snapshot pg_snapshot;
begin
  if (select bool_and(ready) from creditdesk.ledger_partitions) then
    return;
  end if;
  delete from creditdesk.ledger_daily;
  -- One statement, so the snapshot taken is the one the scan read.
  with scan as (
    insert into creditdesk.ledger_daily (day, type, part, credited, debited, "creditEntries",
                                         "debitEntries")
    select (h."createdAt" at time zone 'UTC')::date, h.type::text, (hashint4(h."userId") & 63),
           coalesce(sum(h.amount) filter (where h.amount > 0), 0),
           coalesce(-sum(h.amount) filter (where h.amount < 0), 0),
           count(*) filter (where h.amount > 0),
           count(*) filter (where h.amount < 0)
    from public.credit_history h
    group by 1, 2, 3
    returning 1)
  select pg_current_snapshot() into v_snapshot from (select count(*) from scan) s;
  perform pg_advisory_xact_lock(1131766852, p) from generate_series(0, 63) p order by p;
  insert into creditdesk.ledger_daily as d (day, type, part, credited, debited, "creditEntries",
                                            "debitEntries")
  select day, type, part, sum(credited), sum(debited), sum("creditEntries"), sum("debitEntries")
  from creditdesk.ledger_pending
  where not pg_visible_in_snapshot(xid, v_snapshot)
  group by 1, 2, 3
  order by 1, 2, 3
  on conflict (day, type, part) do update
    set credited = d.credited + excluded.credited, debited = d.debited + excluded.debited,
        "creditEntries" = d."creditEntries" + excluded."creditEntries",
        "debitEntries" = d."debitEntries" + excluded."debitEntries";
  delete from creditdesk.ledger_pending;
  update creditdesk.ledger_partitions
  set ready = true, version = nextval('creditdesk.ledger_state_version'), "changedAt" = now();
end $$;

-- The sum of a user's entries before (p_at, p_id) in ledger order
-- (createdAt, id): the balance just before that entry, by the ledger. A
-- tracked ledger is read as sums of whole months, days and hours, then the
-- entries of one hour; any other one is summed entry by entry.
create or replace function creditdesk.ledger_balance_before(p_user integer, p_at timestamptz,
                                                            p_id integer)
returns bigint
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_month timestamptz := date_trunc('month', p_at, 'UTC');
  v_day timestamptz := date_trunc('day', p_at, 'UTC');
  v_hour timestamptz := date_trunc('hour', p_at, 'UTC');
  v_sum bigint;
begin
  if not exists (select 1 from creditdesk.ledger_tracked where "userId" = p_user) then
    select coalesce(sum(amount), 0) into v_sum from public.credit_history
    where "userId" = p_user and ("createdAt", id) < (p_at, p_id);
    return v_sum;
  end if;
  select coalesce((select sum(total) from creditdesk.ledger_sums
                   where "userId" = p_user and grain = 'm' and start < v_month), 0)
       + coalesce((select sum(total) from creditdesk.ledger_sums
                   where "userId" = p_user and grain = 'd' and start >= v_month and start < v_day), 0)
       + coalesce((select sum(total) from creditdesk.ledger_sums
                   where "userId" = p_user and grain = 'h' and start >= v_day and start < v_hour), 0)
       + coalesce((select sum(amount) from public.credit_history
                   where "userId" = p_user and "createdAt" >= v_hour
                     and ("createdAt", id) < (p_at, p_id)), 0)
    into v_sum;
  return v_sum;
end $$;

-- What the dashboard reads: credits in and out per UTC day and type, and
-- whether every partition is in them yet.
create or replace view creditdesk.ledger_by_day as
select day, type, sum(credited)::int8 as credited, sum(debited)::int8 as debited,
       sum("creditEntries")::int8 as "creditEntries", sum("debitEntries")::int8 as "debitEntries"
from creditdesk.ledger_daily
group by day, type;

create or replace view creditdesk.ledger_rollup_status as
select count(*) filter (where ready)::int4 as ready, count(*)::int4 as partitions
from creditdesk.ledger_partitions;

select creditdesk.secure();
