-- Bulk loading is several times faster without per-row index maintenance and
-- per-row foreign-key checks (a trigger and a lookup for every key of every
-- row). So the secondary indexes and foreign keys of the tables the seed
-- fills are dropped here and recreated at the end from their own catalog
-- definitions (pg_get_indexdef / pg_get_constraintdef), which re-checks every
-- row at once; the end also verifies that the definitions came back
-- identical. Primary keys and unique constraints stay. All of it is inside
-- the seed's transaction: on any error nothing has changed.

create temp view seed_keys as
select 1 as step, i.indexrelid::regclass::text as name, i.indrelid::regclass::text as tbl,
       pg_get_indexdef(i.indexrelid) as def
from pg_index i
where i.indrelid = any (array['public.users', 'public.models', 'public.model_training_images',
                              'public.photo_generation_batches', 'public.photos',
                              'public.transactions', 'public.gift_cards',
                              'public.coupon_redemptions', 'public.credit_history']::regclass[])
  -- indexes that back a primary key or unique constraint stay
  and not exists (select 1 from pg_constraint c
                  where c.conindid = i.indexrelid and c.contype in ('p', 'u', 'x'))
union all
select 2, quote_ident(c.conname), c.conrelid::regclass::text,
       format('alter table %s add constraint %I %s', c.conrelid::regclass, c.conname,
              pg_get_constraintdef(c.oid))
from pg_constraint c
where c.contype = 'f'
  and c.conrelid = any (array['public.users', 'public.models', 'public.model_training_images',
                              'public.photo_generation_batches', 'public.photos',
                              'public.transactions', 'public.gift_cards',
                              'public.coupon_redemptions', 'public.credit_history']::regclass[]);

create temp table seed_deferred on commit drop as select * from seed_keys;

do $$
declare
  k record;
begin
  for k in select * from seed_deferred order by step desc, name loop
    if k.step = 2 then
      execute format('alter table %s drop constraint %s', k.tbl, k.name);
    else
      execute format('drop index %s', k.name);
    end if;
  end loop;
end $$;
