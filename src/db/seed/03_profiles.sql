-- One row per user to create: who they are and how they use the app. The
-- ledger plan (next step) expands each profile into its entries.
--
-- Segments: 'w' whales (ids 1-3, very long ledgers), 'i' idle (signed up,
-- nothing else), 't' trial (sign-up coupon, trains a model, maybe a few
-- photos), 'b' buyers (1-3 paid top-ups), 'p' power users (3-6 top-ups).
-- A ledger is a series of cycles: a top-up (sign-up coupon, purchase or gift
-- card) followed by spending that fits in that top-up, so no balance ever
-- goes below zero.
create temp table seed_user on commit drop as
with base as materialized (
  select g::int as id,
         g_created_s as created_s,
         to_timestamp(g_created_s) as created_at,
         pg_temp.rnd(g, 0, 3) < 0.5 as female,
         case when g <= 3 then 'w'
              when pg_temp.rnd(g, 0, 2) < 0.06 then 'i'
              when pg_temp.rnd(g, 0, 2) < 0.46 then 't'
              when pg_temp.rnd(g, 0, 2) < 0.93 then 'b'
              else 'p' end as seg,
         -- nine users (oldest half) whose last batch is still 'generating':
         -- six stuck for hours, three started minutes ago
         case when g >= 4 and (g - 4) % greatest(1, (pg_temp.n() / 2 - 4) / 9) = 0
                   and (g - 4) / greatest(1, (pg_temp.n() / 2 - 4) / 9) < 9
              then ((g - 4) / greatest(1, (pg_temp.n() / 2 - 4) / 9) + 1)::int end as special
  from generate_series(1, pg_temp.n()) as g
  cross join lateral (select pg_temp.user_created_s(g) as g_created_s offset 0) c
),
named as materialized (
  select b.*,
         pg_temp.pick(case when b.female then pg_temp.female_names() else pg_temp.male_names() end,
                      pg_temp.rnd(b.id, 0, 4)) as first,
         pg_temp.pick(pg_temp.last_names(), pg_temp.rnd(b.id, 0, 5)) as last,
         pg_temp.pick(pg_temp.mail_domains(), pg_temp.rnd(b.id, 0, 6)) as domain,
         floor(pg_temp.rnd(b.id, 0, 7) * 5)::int as email_style,
         -- specials need some history before their last batch
         b.special is not null and b.created_at < now() - interval '3 days' as is_special
  from base b
),
-- Which sign-up coupon, if any: one valid at sign-up time, by weight.
chosen as materialized (
  select n.*,
         case when n.seg = 'i' then null
              when n.seg = 't' and pg_temp.rnd(n.id, 0, 8) >= 0.95 then null
              when n.seg in ('b', 'p') and not n.is_special and pg_temp.rnd(n.id, 0, 8) >= 0.65 then null
              else (select c.id from seed_coupon c
                    where c.role = 'signup' and c.weight > 0
                      and n.created_at >= c.redeem_from
                      and n.created_at + interval '30 minutes' < c.redeem_until
                    order by -ln(1 - pg_temp.rnd(n.id, c.id, 9)) / c.weight
                    limit 1) end as wanted_coupon
  from named n
),
-- Coupons that ran out: only the first `cap` users got one; later ones got
-- the welcome bonus instead (first come, first served).
capped as materialized (
  select c.*,
         case when c.wanted_coupon is null then null
              when sc.policy = 'exhausted'
                   and row_number() over (partition by c.wanted_coupon order by c.id) > sc.cap then 1
              else c.wanted_coupon end as coupon_id
  from chosen c
  left join seed_coupon sc on sc.id = c.wanted_coupon
),
shaped as materialized (
  select c.*,
         -- paid top-ups (purchases and at most one gift card)
         case when c.seg = 'w' then ceil(greatest(c.target, 1) / 55.0)::int + 1
              when c.is_special then 1 + (pg_temp.rnd(c.id, 0, 11) < 0.35)::int
              when c.seg = 'b' then 1 + (pg_temp.rnd(c.id, 0, 11) < 0.35)::int
                                      + (pg_temp.rnd(c.id, 0, 11) < 0.10)::int
              when c.seg = 'p' then 3 + floor(pg_temp.rnd(c.id, 0, 11) * 4)::int
              else 0 end as paid,
         -- models trained: the first in the first cycle, others spread out
         case when c.seg = 'w' then 5
              when c.seg = 'p' then 1 + floor(pg_temp.rnd(c.id, 0, 12) * 3)::int
              when c.seg = 'b' or c.is_special then 1 + (pg_temp.rnd(c.id, 0, 12) < 0.2)::int
              when c.seg = 't' then 1
              else 0 end as models_wanted,
         -- some trial users' only model failed to train; they never came back
         c.seg = 't' and not c.is_special and pg_temp.rnd(c.id, 0, 13) < 0.08 as failed_model,
         -- a few buyers redeem a gift card (their last paid top-up); enough
         -- of them for a demo, few thousand cards at a million users
         c.seg in ('b', 'p') and not c.is_special
           and pg_temp.rnd(c.id, 0, 14) < greatest(0.0033, least(0.5, 25.0 / greatest(pg_temp.n(), 1)))
           as gets_gift_card
  from (select c.*,
               case when c.id = 1 then pg_temp.n()::int
                    when c.id <= 3 then greatest(1, pg_temp.n() / 10)::int end as target
        from capped c) c
)
select s.id,
       s.created_at,
       case when s.female then 'mujer' else 'hombre' end as gender,
       case when s.id = 1 then 'Pixelforge Studio'
            when s.id = 2 then 'Lena Hoffmann'
            when s.id = 3 then 'Bright Headshots Inc.'
            -- a few people never filled in their name
            when pg_temp.rnd(s.id, 0, 15) < 0.03 then null
            else s.first || ' ' || s.last end as name,
       case when s.id = 1 then 'ops@pixelforge.studio'
            when s.id = 2 then 'lena@hoffmann-fotografie.de'
            when s.id = 3 then 'api@brightheadshots.com'
            -- the id keeps every address unique
            else pg_temp.ascii_lower(case s.email_style
                   when 0 then s.first || '.' || s.last || s.id
                   when 1 then s.first || s.last || s.id
                   when 2 then left(s.first, 1) || '.' || s.last || s.id
                   when 3 then s.first || '_' || s.id
                   else s.last || '.' || s.first || s.id end) || '@' || s.domain end as email,
       case when s.is_special then 'b' else s.seg end as seg,
       case when s.is_special then s.special end as special,
       s.target,
       s.coupon_id,
       sc.discount_value::int as coupon_credits,
       s.paid,
       (s.coupon_id is not null)::int + s.paid as cycles,
       least(s.models_wanted, (s.coupon_id is not null)::int + s.paid) as models,
       -- ids of this user's models are model_base + 1 .. model_base + models
       (sum(least(s.models_wanted, (s.coupon_id is not null)::int + s.paid)) over (order by s.id)
        - least(s.models_wanted, (s.coupon_id is not null)::int + s.paid))::int as model_base,
       case when s.gets_gift_card and s.paid > 0
            then (s.coupon_id is not null)::int + s.paid - 1 end as gift_cycle,
       s.failed_model,
       -- active from sign-up (created_s) until end_s, in epoch seconds;
       -- specials pause two days before they come back for their last batch
       s.created_s,
       case when s.seg = 'w' then pg_temp.now_s() - 1800 * pg_temp.rnd(s.id, 0, 16)
            when s.is_special then pg_temp.now_s() - 2 * 86400
            when s.seg = 't' then s.created_s + least(pg_temp.now_s() - s.created_s, 3 * 86400)
                                                * pg_temp.rnd(s.id, 0, 16)
            when s.seg = 'p' then s.created_s + (pg_temp.now_s() - s.created_s)
                                                * (0.6 + 0.4 * pg_temp.rnd(s.id, 0, 16))
            else s.created_s + (pg_temp.now_s() - s.created_s) * (0.05 + 0.95 * pg_temp.rnd(s.id, 0, 16))
       end as end_s
from shaped s
left join seed_coupon sc on sc.id = s.coupon_id;

analyze seed_user;
