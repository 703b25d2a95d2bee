-- The catalog: credit packs, example images and coupons. Explicit ids (the
-- later steps refer to them); the sequences are moved past them at the end.

insert into public.credit_packs (id, name, credits, price, "isActive", "createdAt") values
  (1, 'Starter', 100, 9.99, true, now() - interval '760 days'),
  (2, 'Pro', 500, 39.99, true, now() - interval '760 days'),
  (3, 'Premium', 1200, 79.99, true, now() - interval '760 days'),
  -- retired half a year after launch; early users bought it
  (4, 'Mini (legacy)', 50, 5.99, false, now() - interval '760 days');

-- Reference images users pick from when generating (photos.referenceImageId).
insert into public.example_images (id, "imageUrl", category, "createdAt")
select g, format('https://cdn.example.com/examples/%s-%s.jpg', c.category, (g + 5) / 6), c.category,
       now() - interval '745 days' + g * interval '2 hours'
from generate_series(1, 30) as g
cross join lateral (
  select (array['professional', 'casual', 'outdoor', 'studio', 'fashion', 'creative'])[1 + (g - 1) % 6]
    as category) as c;

-- Coupons, with what the seed needs to know about them:
--   role     'signup': credits coupons redeemed right after signing up (a
--            ledger entry); 'checkout': discounts on a user's first purchase
--   weight   how often it is chosen among the coupons valid at that moment
--   redeem_from / redeem_until  when seeded redemptions happen: within the
--            validity, and for inactive coupons before they were switched off
--   policy   'unlimited' (maxUses null); 'limited': maxUses = max(cap, 1.5 x
--            the uses); 'exhausted': at most cap uses, and maxUses = uses
create temp table seed_coupon on commit drop as
with y as (select extract(year from now())::int as y, now() - interval '730 days' as t0)
select v.*
from y
cross join lateral (values
  -- credits coupons (sign-up bonuses)
  (1, 'WELCOME20', 'Welcome bonus: 20 free credits', 'credits'::public.coupon_discount_type, 20.00,
   y.t0 - interval '30 days', null::timestamptz, true,
   'signup', 1.0, y.t0 - interval '30 days', now(), 'unlimited', null::int),
  (2, 'LAUNCH100', 'Launch: 100 free credits for the first users', 'credits', 100,
   y.t0 - interval '1 day', y.t0 + interval '60 days', true,
   'signup', 50, y.t0 - interval '1 day', y.t0 + interval '60 days', 'exhausted',
   pg_temp.nice_floor(pg_temp.n() * 0.002)),
  (3, 'BETA-TESTERS', 'Closed beta thank-you', 'credits', 200,
   y.t0 - interval '60 days', y.t0 + interval '14 days', false,
   'signup', 30, y.t0 - interval '60 days', y.t0 + interval '14 days', 'exhausted',
   pg_temp.nice_floor(pg_temp.n() * 0.0005)),
  (4, 'FREE50', 'Influencer campaign: 50 credits', 'credits', 50,
   now() - interval '200 days', now() + interval '90 days', true,
   'signup', 0.4, now() - interval '200 days', now(), 'limited', 1000),
  (5, 'SPRING-' || (y.y - 1), 'Spring campaign: 30 credits', 'credits', 30,
   make_timestamptz(y.y - 1, 3, 1, 0, 0, 0, 'UTC'), make_timestamptz(y.y - 1, 6, 1, 0, 0, 0, 'UTC'), true,
   'signup', 3, make_timestamptz(y.y - 1, 3, 1, 0, 0, 0, 'UTC'), make_timestamptz(y.y - 1, 6, 1, 0, 0, 0, 'UTC'),
   'limited', 500),
  (6, 'PODCAST40', 'Podcast sponsorship (switched off early)', 'credits', 40,
   now() - interval '420 days', null, false,
   'signup', 2, now() - interval '420 days', now() - interval '330 days', 'unlimited', null),
  (7, 'COMEBACK15', 'Win-back email: 15 credits', 'credits', 15,
   now() - interval '500 days', null, true,
   'signup', 0.15, now() - interval '500 days', now(), 'unlimited', null),
  (8, 'NEWYEAR-' || (y.y + 1), 'New year promo (scheduled)', 'credits', 25,
   make_timestamptz(y.y + 1, 1, 1, 0, 0, 0, 'UTC'), make_timestamptz(y.y + 1, 2, 1, 0, 0, 0, 'UTC'), true,
   'signup', 0, null, null, 'limited', 5000),
  -- discounts at checkout
  (9, 'WELCOME10', 'First purchase: 10% off', 'percentage', 10,
   y.t0 - interval '30 days', null, true,
   'checkout', 1, y.t0 - interval '30 days', now(), 'unlimited', null),
  (10, 'SUMMER-' || (y.y - 1), 'Summer sale: 20% off', 'percentage', 20,
   make_timestamptz(y.y - 1, 6, 1, 0, 0, 0, 'UTC'), make_timestamptz(y.y - 1, 9, 1, 0, 0, 0, 'UTC'), true,
   'checkout', 8, make_timestamptz(y.y - 1, 6, 1, 0, 0, 0, 'UTC'), make_timestamptz(y.y - 1, 9, 1, 0, 0, 0, 'UTC'),
   'unlimited', null),
  (11, 'BLACKFRIDAY-' || (y.y - 1), 'Black Friday: 30% off', 'percentage', 30,
   make_timestamptz(y.y - 1, 11, 21, 0, 0, 0, 'UTC'), make_timestamptz(y.y - 1, 12, 2, 0, 0, 0, 'UTC'), true,
   'checkout', 25, make_timestamptz(y.y - 1, 11, 21, 0, 0, 0, 'UTC'), make_timestamptz(y.y - 1, 12, 2, 0, 0, 0, 'UTC'),
   'limited', 500),
  (12, 'CYBERMONDAY-' || (y.y - 1), 'Cyber Monday: 40% off, limited', 'percentage', 40,
   make_timestamptz(y.y - 1, 11, 30, 0, 0, 0, 'UTC'), make_timestamptz(y.y - 1, 12, 2, 0, 0, 0, 'UTC'), true,
   'checkout', 40, make_timestamptz(y.y - 1, 11, 30, 0, 0, 0, 'UTC'), make_timestamptz(y.y - 1, 12, 2, 0, 0, 0, 'UTC'),
   'exhausted', pg_temp.nice_floor(pg_temp.n() * 0.00005)),
  (13, 'STUDENT15', 'Student discount (discontinued)', 'percentage', 15,
   y.t0 + interval '30 days', null, false,
   'checkout', 1.5, y.t0 + interval '30 days', now() - interval '150 days', 'unlimited', null),
  (14, 'VIP-ANNA', 'Creator collaboration, single use', 'percentage', 50,
   now() - interval '300 days', null, true,
   'checkout', 0.05, now() - interval '300 days', now(), 'exhausted', 1),
  (15, 'SPRING-' || (y.y + 1), 'Spring sale: 15% off (scheduled)', 'percentage', 15,
   make_timestamptz(y.y + 1, 3, 1, 0, 0, 0, 'UTC'), make_timestamptz(y.y + 1, 6, 1, 0, 0, 0, 'UTC'), true,
   'checkout', 0, null, null, 'limited', 2000),
  (16, 'TEAM25', 'Internal testing', 'percentage', 25,
   y.t0, null, false,
   'checkout', 0, null, null, 'unlimited', null),
  (17, 'SAVE5', 'Newsletter: $5 off', 'fixed_amount', 5.00,
   y.t0 - interval '30 days', null, true,
   'checkout', 0.8, y.t0 - interval '30 days', now(), 'unlimited', null),
  (18, 'TAKE10', '$10 off Pro and Premium', 'fixed_amount', 10.00,
   now() - interval '150 days', now() + interval '60 days', true,
   'checkout', 1, now() - interval '150 days', now(), 'limited', 1000),
  (19, 'HOLIDAY-' || (y.y - 1), 'Holidays: $15 off', 'fixed_amount', 15.00,
   make_timestamptz(y.y - 1, 12, 15, 0, 0, 0, 'UTC'), make_timestamptz(y.y, 1, 7, 0, 0, 0, 'UTC'), true,
   'checkout', 10, make_timestamptz(y.y - 1, 12, 15, 0, 0, 0, 'UTC'), make_timestamptz(y.y, 1, 7, 0, 0, 0, 'UTC'),
   'limited', 500),
  (20, 'PARTNER-ACME', 'Partner deal (ended)', 'fixed_amount', 20.00,
   now() - interval '500 days', null, false,
   'checkout', 2, now() - interval '500 days', now() - interval '400 days', 'limited', 100),
  (21, 'FLASH-SALE', 'Flash sale: $8 off, first come first served', 'fixed_amount', 8.00,
   now() - interval '130 days', now() - interval '120 days', true,
   'checkout', 30, now() - interval '130 days', now() - interval '120 days', 'exhausted',
   pg_temp.nice_floor(pg_temp.n() * 0.0002)),
  (22, 'EARLYBIRD', 'Early bird: $3 off (scheduled)', 'fixed_amount', 3.00,
   now() + interval '14 days', now() + interval '44 days', true,
   'checkout', 0, null, null, 'unlimited', null)
) as v(id, code, description, discount_type, discount_value, valid_from, valid_until, is_active,
       role, weight, redeem_from, redeem_until, policy, cap);

-- usedCount and maxUses are set at the end, from the redemptions.
insert into public.coupons (id, code, description, "discountType", "discountValue", "maxUses",
                            "usedCount", "validFrom", "validUntil", "isActive", "createdAt")
select id, code, description, discount_type, discount_value, null, 0, valid_from, valid_until,
       is_active, least(valid_from, now()) - interval '3 days'
from seed_coupon;
