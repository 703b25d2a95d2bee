-- Session settings for one big load. `set local` ends with the transaction.
set local work_mem = '256MB';
set local maintenance_work_mem = '512MB';
set local synchronous_commit = off;
set local statement_timeout = 0;
set local timezone = 'UTC';
-- The statements are few, big and expression-heavy: compiling them with JIT
-- costs more (about a second each) than it saves.
set local jit = off;
-- Same ids on every run: rows must come out of every scan in the same order,
-- so no parallel plans and no scans that join another session's scan midway.
set local max_parallel_workers_per_gather = 0;
set local synchronize_seqscans = off;
-- Memoize only adds hashing here: the lateral subqueries' inputs never repeat.
set local enable_memoize = off;

-- The helpers below live in pg_temp and are dropped at the end of the seed.

-- How many users to create (set by the caller with set_config('seed.users')).
-- Declared immutable, which it is for the whole transaction, so the planner
-- folds it into a constant instead of reading the setting for every row.
create or replace function pg_temp.n() returns bigint
language sql immutable
as $$ select current_setting('seed.users')::bigint $$;

-- Deterministic "random" number in [0, 1) for a key pair and a salt: the
-- same database content on every run, without setseed() and row order.
create or replace function pg_temp.rnd(a bigint, b bigint, salt int) returns double precision
language sql immutable parallel safe
as $$ select (hashint8extended(a, b * 1024 + salt) & 9007199254740991)::double precision / 9007199254740992 $$;

-- One element of an array, chosen by r in [0, 1).
create or replace function pg_temp.pick(arr anyarray, r double precision) returns anyelement
language sql immutable parallel safe
as $$ select arr[1 + floor(r * cardinality(arr))::int] $$;

-- The serial sequence behind a table's id (folded to a constant per statement).
create or replace function pg_temp.seq(tbl text) returns regclass
language sql immutable
as $$ select pg_get_serial_sequence(tbl, 'id')::regclass $$;

-- Times are computed as seconds since the epoch (double precision) and
-- turned into timestamptz once: timestamptz + interval arithmetic with days in
-- it costs a calendar conversion per row. now() is fixed for the transaction.
create or replace function pg_temp.now_s() returns double precision
language sql immutable
as $$ select extract(epoch from now())::double precision $$;

-- Users sign up over the last two years, more of them recently (the number
-- of sign-ups grows linearly). Ids follow sign-up time, as a serial would.
create or replace function pg_temp.user_created_s(id bigint) returns double precision
language sql immutable
as $$
  select pg_temp.now_s() - 730 * 86400
         + 730 * 86400 * sqrt((id - 1 + pg_temp.rnd(id, 0, 1)) / greatest(pg_temp.n(), 1))
$$;

create or replace function pg_temp.user_created(id bigint) returns timestamptz
language sql immutable
as $$ select to_timestamp(pg_temp.user_created_s(id)) $$;

-- Whose completed batches get photos rows: every user's in a demo-sized
-- database; at scale about 15,000 users' (not the whales'), which keeps the
-- photos table around a million rows.
create or replace function pg_temp.has_photos(user_id int) returns boolean
language sql immutable
as $$
  select user_id % greatest(1, ceil(pg_temp.n() / 15000.0))::int = 0
         and (pg_temp.n() <= 20000 or user_id > 3)
$$;

-- Round up to two significant digits (maxUses of a limited coupon: 1500, not 1437).
create or replace function pg_temp.nice_ceil(x numeric) returns int
language sql immutable
as $$
  select case when x <= 20 then greatest(ceil(x), 1)::int
              else (ceil(x / 10 ^ (floor(log(x)) - 1)) * 10 ^ (floor(log(x)) - 1))::int end
$$;

-- Round down to one significant digit, at least 1 (caps of exhausted coupons).
create or replace function pg_temp.nice_floor(x numeric) returns int
language sql immutable
as $$
  select case when x < 1 then 1
              else (floor(x / 10 ^ floor(log(x))) * 10 ^ floor(log(x)))::int end
$$;

-- Gift-card code: 20 symbols of the Crockford alphabet (100 bits) from a hash
-- of the card's id, in groups of four: K7QF-9XM2-....
create or replace function pg_temp.gift_code(id bigint) returns text
language sql immutable
as $$
  select string_agg(
           substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ',
                  1 + ((hashint8extended(id, 7000 + i / 10) >> (5 * (i % 10))) & 31)::int, 1)
           || case when i % 4 = 3 and i < 19 then '-' else '' end,
           '' order by i)
  from generate_series(0, 19) as i
$$;

-- Names for people. Accents in display names, plain ASCII in email addresses.
create or replace function pg_temp.female_names() returns text[]
language sql immutable
as $$ select array['Maria', 'Sofia', 'Emma', 'Olivia', 'Lucía', 'Ana', 'Laura', 'Julia', 'Sarah',
                   'Chloe', 'Mia', 'Isabella', 'Camila', 'Valentina', 'Hannah', 'Léa', 'Elena',
                   'Nora', 'Zoë', 'Renée', 'Aisha', 'Priya', 'Yuki', 'Mei', 'Fatima', 'Ingrid',
                   'Carmen', 'Paula', 'Grace', 'Ava'] $$;

create or replace function pg_temp.male_names() returns text[]
language sql immutable
as $$ select array['James', 'Lucas', 'Mateo', 'Daniel', 'David', 'Noah', 'Liam', 'Hugo', 'Leo',
                   'Pablo', 'Diego', 'Javier', 'Carlos', 'Thomas', 'Oliver', 'Ethan', 'Samuel',
                   'Adrián', 'José', 'Ahmed', 'Ravi', 'Kenji', 'Wei', 'Omar', 'Lars', 'Felix',
                   'Marco', 'Andrés', 'Tom', 'Ben'] $$;

create or replace function pg_temp.last_names() returns text[]
language sql immutable
as $$ select array['Garcia', 'Martínez', 'Smith', 'Johnson', 'Brown', 'Müller', 'Schmidt', 'Rossi',
                   'Bianchi', 'Dubois', 'Martin', 'Silva', 'Santos', 'Kowalski', 'Nowak', 'Jensen',
                   'Hansen', 'Andersson', 'Kim', 'Lee', 'Park', 'Chen', 'Wang', 'Tanaka', 'Sato',
                   'Patel', 'Singh', 'Khan', 'O''Brien', 'Murphy', 'Fernández', 'López', 'González',
                   'Rodríguez', 'Pérez', 'Sánchez', 'Romero', 'Torres', 'Ramírez', 'Navarro',
                   'Wilson', 'Taylor', 'Anderson', 'Thomas', 'Moore', 'Jackson', 'White', 'Harris',
                   'Clark', 'Lewis'] $$;

-- Mail domains, repeated by how common they are; the last ones are companies.
create or replace function pg_temp.mail_domains() returns text[]
language sql immutable
as $$ select array['gmail.com', 'gmail.com', 'gmail.com', 'gmail.com', 'gmail.com', 'gmail.com',
                   'gmail.com', 'gmail.com', 'gmail.com', 'outlook.com', 'outlook.com', 'outlook.com',
                   'yahoo.com', 'yahoo.com', 'icloud.com', 'icloud.com', 'hotmail.com', 'proton.me',
                   'gmx.de', 'acme.io', 'globex.com', 'initech.com', 'hooli.xyz', 'umbrella-labs.com',
                   'stark-industries.net', 'wayne-enterprises.com'] $$;

-- 'Zoë O''Brien' -> 'zoe.obrien': email-safe lower-case ASCII.
create or replace function pg_temp.ascii_lower(s text) returns text
language sql immutable
as $$ select translate(lower(s), 'áéíóúüñçëöäè''', 'aeiouunceoae') $$;

-- An email for someone who is not (necessarily) a user: gift-card buyers
-- without an account and recipients.
create or replace function pg_temp.guest_email(k bigint) returns text
language sql immutable
as $$
  select pg_temp.ascii_lower(
           pg_temp.pick(pg_temp.female_names() || pg_temp.male_names(), pg_temp.rnd(k, 0, 901))
           || '.' || pg_temp.pick(pg_temp.last_names(), pg_temp.rnd(k, 0, 902)))
         || (10 + floor(pg_temp.rnd(k, 0, 903) * 90))::int
         || '@' || pg_temp.pick(pg_temp.mail_domains(), pg_temp.rnd(k, 0, 904))
$$;

-- Option sets for generation batches: every background set of 1 to 3 and
-- every style set of 1 or 2, as JSON arrays (built once per statement).
create or replace function pg_temp.background_sets() returns jsonb[]
language sql immutable
as $$
  with b(name, i) as (
    select * from unnest(array['office', 'beach', 'studio', 'city', 'nature', 'library', 'cafe',
                               'gradient']) with ordinality as b(name, i))
  select array_agg(s order by n, k)
  from (
    select 1 as n, b1.i * 100 as k, jsonb_build_array(b1.name) as s from b b1
    union all
    select 2, b1.i * 100 + b2.i, jsonb_build_array(b1.name, b2.name)
    from b b1 join b b2 on b2.i > b1.i
    union all
    select 3, b1.i * 10000 + b2.i * 100 + b3.i, jsonb_build_array(b1.name, b2.name, b3.name)
    from b b1 join b b2 on b2.i > b1.i join b b3 on b3.i > b2.i
  ) sets
$$;

create or replace function pg_temp.style_sets() returns jsonb[]
language sql immutable
as $$
  with s(name, i) as (
    select * from unnest(array['linkedin', 'cinematic', 'casual', 'corporate', 'fashion',
                               'vintage', 'black-and-white']) with ordinality as s(name, i))
  select array_agg(v order by n, k)
  from (
    select 1 as n, s1.i * 100 as k, jsonb_build_array(s1.name) as v from s s1
    union all
    select 2, s1.i * 100 + s2.i, jsonb_build_array(s1.name, s2.name)
    from s s1 join s s2 on s2.i > s1.i
  ) sets
$$;
