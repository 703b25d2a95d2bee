-- Coupon counters from the redemptions: usedCount always equals them, and
-- maxUses follows the coupon's policy (see 02_catalog.sql).
update public.coupons c
set "usedCount" = r.uses,
    "maxUses" = case sc.policy
                  when 'limited' then greatest(sc.cap, pg_temp.nice_ceil(r.uses * 1.5))
                  when 'exhausted' then greatest(r.uses, 1)
                end
from seed_coupon sc
cross join lateral (select count(*)::int as uses from public.coupon_redemptions cr
                    where cr."couponId" = sc.id) r
where c.id = sc.id;

-- Serial sequences continue after the seeded ids.
select setval(pg_temp.seq('public.users'), coalesce(max(id), 0) + 1, false) from public.users;
select setval(pg_temp.seq('public.credit_packs'), coalesce(max(id), 0) + 1, false) from public.credit_packs;
select setval(pg_temp.seq('public.example_images'), coalesce(max(id), 0) + 1, false) from public.example_images;
select setval(pg_temp.seq('public.coupons'), coalesce(max(id), 0) + 1, false) from public.coupons;
select setval(pg_temp.seq('public.models'), coalesce(max(id), 0) + 1, false) from public.models;
select setval(pg_temp.seq('public.transactions'), coalesce(max(id), 0) + 1, false) from public.transactions;
select setval(pg_temp.seq('public.gift_cards'), coalesce(max(id), 0) + 1, false) from public.gift_cards;
select setval(pg_temp.seq('public.photo_generation_batches'), coalesce(max(id), 0) + 1, false)
from public.photo_generation_batches;
select setval(pg_temp.seq('public.photos'), coalesce(max(id), 0) + 1, false) from public.photos;
