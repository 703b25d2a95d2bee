-- Recreate the secondary indexes dropped by 01_defer_keys.sql, exactly as
-- the catalog defined them (unique ones check every row now).
do $$
declare
  k record;
begin
  for k in select def from seed_deferred where step = 1 order by name loop
    execute k.def;
  end loop;
end $$;

-- Statistics before the foreign keys: each key is checked with one join over
-- the whole table, and the planner must see the tables' real sizes for it.
analyze public.users, public.credit_packs, public.example_images, public.coupons,
        public.models, public.model_training_images, public.transactions,
        public.coupon_redemptions, public.gift_cards, public.photo_generation_batches,
        public.photos, public.credit_history;

-- Recreate the foreign keys; adding one validates every existing row.
do $$
declare
  k record;
begin
  for k in select def from seed_deferred where step = 2 order by tbl, name loop
    execute k.def;
  end loop;
end $$;

-- The schema must be exactly what it was: same index and key definitions.
do $$
begin
  if exists (select step, name, tbl, def from seed_deferred
             except select step, name, tbl, def from seed_keys)
     or exists (select step, name, tbl, def from seed_keys
                except select step, name, tbl, def from seed_deferred) then
    raise exception 'seed: indexes or foreign keys differ from the ones before the load';
  end if;
end $$;

-- Leave nothing behind in the session (temp tables go at commit).
drop view seed_keys;
drop function pg_temp.n(), pg_temp.now_s(), pg_temp.rnd(bigint, bigint, int),
  pg_temp.pick(anyarray, double precision), pg_temp.seq(text), pg_temp.user_created_s(bigint),
  pg_temp.user_created(bigint), pg_temp.has_photos(int), pg_temp.nice_ceil(numeric),
  pg_temp.nice_floor(numeric), pg_temp.gift_code(bigint), pg_temp.female_names(),
  pg_temp.male_names(), pg_temp.last_names(), pg_temp.mail_domains(), pg_temp.ascii_lower(text),
  pg_temp.guest_email(bigint), pg_temp.background_sets(), pg_temp.style_sets();
