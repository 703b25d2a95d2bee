-- Checkout coupons: some users' first purchase used a discount coupon valid at
-- that moment. Exhausted coupons went to the first `cap` buyers only.
create temp table seed_checkout on commit drop as
select x.tx_id, x.user_id, x.t, x.coupon_id, x.discount
from (
  select p.tx_id, p.user_id, p.t, c.id as coupon_id, c.policy, c.cap,
         case c.discount_type
           when 'percentage' then round(k.price * c.discount_value / 100, 2)
           else c.discount_value end as discount,
         row_number() over (partition by c.id order by p.t, p.tx_id) as rn
  from seed_plan p
  join public.credit_packs k on k.id = p.note
  cross join lateral (
    select c.*
    from seed_coupon c
    where c.role = 'checkout' and c.weight > 0
      and p.t >= c.redeem_from and p.t < c.redeem_until
      -- a fixed discount leaves something to pay
      and (c.discount_type <> 'fixed_amount' or k.price > c.discount_value + 1)
    order by -ln(1 - pg_temp.rnd(p.user_id, c.id, 41)) / c.weight
    limit 1
  ) c
  where p.first_purchase and pg_temp.rnd(p.user_id, 0, 40) < 0.3
) x
where x.policy <> 'exhausted' or x.rn <= x.cap;

-- A completed transaction for every planned purchase.
insert into public.transactions (id, "userId", "creditPackId", amount, currency, status, "createdAt",
                                 "couponId", "creditsAwarded")
select p.tx_id, p.user_id, p.note, k.price - coalesce(ch.discount, 0), 'USD', 'completed',
       p.t - interval '5 seconds', ch.coupon_id, p.amount
from seed_plan p
join public.credit_packs k on k.id = p.note
left join seed_checkout ch on ch.tx_id = p.tx_id
where p.kind = 'purchase';

-- Payments that failed (card declined) and a few checkouts still pending:
-- no credits, no ledger entry.
insert into public.transactions (id, "userId", "creditPackId", amount, currency, status, "createdAt",
                                 "creditsAwarded")
select nextval(pg_temp.seq('public.transactions')), u.id, f.pack, k.price, 'USD', f.status, f.t, 0
from seed_user u
cross join lateral (
  select 1 + floor(pg_temp.rnd(u.id, 0, 42) * 3)::int as pack,
         case when pg_temp.rnd(u.id, 0, 43) < 0.1 then 'pending' else 'failed' end as status
  offset 0
) p0
cross join lateral (
  select p0.pack, p0.status,
         case when p0.status = 'pending' then now() - interval '45 minutes' * pg_temp.rnd(u.id, 0, 44)
              else to_timestamp(u.created_s + (u.end_s - u.created_s) * pg_temp.rnd(u.id, 0, 44)) end as t
) f
join public.credit_packs k on k.id = f.pack
where u.seg in ('b', 'p') and pg_temp.rnd(u.id, 0, 45) < 0.03;

-- Coupon redemptions: sign-up credits (with their ledger entry) and checkout
-- discounts (linked to the purchase's transaction).
insert into public.coupon_redemptions ("userId", "couponId", "creditsAwarded", "discountApplied",
                                       "transactionId", "redeemedAt")
select p.user_id, p.coupon_id, p.amount, null, null, p.t
from seed_plan p
where p.kind = 'coupon'
union all
select ch.user_id, ch.coupon_id, null, ch.discount, ch.tx_id, ch.t
from seed_checkout ch;
