-- The ledger plan: every credit_history entry the seed will write, with the
-- ids of the rows it points at (transactions, models, gift cards, coupons,
-- batches) already drawn from their sequences. The other tables are derived
-- from it, so they agree with the ledger by construction.
--
-- Per user, cycle c (0 .. cycles-1) is: a top-up of T credits, then spending
-- that fits in T (training a model, generation batches), refunds of some
-- failed batches, sometimes an admin adjustment. Each cycle's spending is at
-- most its own top-up, so the running balance never goes below zero.

-- The generator. Each lateral subquery computes a few values once per row
-- (`offset 0` keeps the planner from inlining them, which would repeat the
-- expressions wherever they are used). Times are epoch seconds until the end.
create temp view seed_plan_rows as
select u.id as user_id,
       to_timestamp(case when ex.sub = 0 then s.t
                         else s.t + s.step * (0.25 + 0.2 * pg_temp.rnd(s.key, 2, 20)) end) as t,
       case when ex.sub = 0 then s.kind else 'refund' end as kind,
       case when ex.sub = 0 then s.amount else s.refund end as amount,
       (case when ex.sub = 0 then s.note else (s.refund < -s.amount)::int end)::smallint as note,
       case when ex.sub = 0 then s.tx_id end::int as tx_id,
       case when ex.sub = 0 then s.model_id end as model_id,
       case when ex.sub = 0 then s.gift_card_id end::int as gift_card_id,
       case when ex.sub = 0 then s.coupon_id end as coupon_id,
       s.batch_id::int as batch_id,
       case when ex.sub = 0 then s.batch_status end as batch_status,
       (case when ex.sub = 0 and s.kind = 'generation' then s.images end)::smallint as images,
       ex.sub = 0 and s.first_purchase as first_purchase
from seed_user u
cross join lateral generate_series(0, u.cycles - 1) as cyc(c)
-- the cycle: when, which top-up, which model is in use, training or not
cross join lateral (
  select cyc.c,
         u.created_s + (u.end_s - u.created_s) * cyc.c / u.cycles as c_start,
         (u.end_s - u.created_s) / u.cycles as c_width,
         case when cyc.c = 0 and u.coupon_id is not null then 'coupon'
              when cyc.c = u.gift_cycle then 'gift_card'
              else 'purchase' end::public.credit_history_type as topup,
         cyc.c * u.models / u.cycles as model_no,
         -- model m is trained in the first cycle c with c * models / cycles = m
         u.models > 0 and cyc.c = (cyc.c * u.models / u.cycles * u.cycles + u.models - 1) / u.models
           as training,
         pg_temp.rnd(u.id, cyc.c, 10) as r_pack,
         pg_temp.rnd(u.id, cyc.c, 11) as r_k,
         pg_temp.rnd(u.id, cyc.c, 12) as r_adj
  offset 0
) cy
-- the top-up: which pack, how many credits; what training costs
cross join lateral (
  select p.pack,
         case when cy.topup = 'coupon' then u.coupon_credits
              else case p.pack when 1 then 100 when 2 then 500 when 3 then 1200 else 50 end
         end as credits,
         case when not cy.training then 0
              -- training got cheaper a year ago
              when cy.c_start < pg_temp.now_s() - 365 * 86400 then 15 else 10 end as tc
  from (select case when cy.topup = 'coupon' then null
                    when u.seg = 'w' then 3
                    when u.seg = 'p' then case when cy.r_pack < 0.30 then 1 when cy.r_pack < 0.75 then 2 else 3 end
                    when cy.r_pack < 0.65 then
                      -- the legacy Mini pack, while it was sold
                      case when cy.c_start < pg_temp.now_s() - 550 * 86400
                                and pg_temp.rnd(u.id, cy.c, 13) < 0.5
                           then 4 else 1 end
                    when cy.r_pack < 0.93 then 2 else 3 end as pack
        offset 0) as p
  offset 0
) tp
-- how the cycle's credits are spent
cross join lateral (
  select g.gens,
         -- slots: the top-up, training, generations, maybe an adjustment
         1 + cy.training::int + g.gens + g.adjust::int as slots,
         g.adjust,
         case when g.gens > 0 then (tp.credits - tp.tc) / g.gens else 0 end as budget
  from (select
          -- batches that fit in what is left after training (>= 4 credits each)
          case when u.failed_model or u.models = 0 then 0
               else greatest(0, least(
                      case when cy.topup = 'coupon' then 1 + floor(cy.r_k * 3)::int
                           when u.seg = 'w' then 60
                           when u.seg = 'p' then 4 + floor(cy.r_k * 8)::int
                           else 2 + floor(cy.r_k * 7)::int end - cy.training::int,
                      (tp.credits - tp.tc) / 4)) end as gens,
          case when u.failed_model then cy.r_adj < 0.5
               when cy.topup = 'coupon' then false
               when u.seg = 'w' then cy.r_adj < 0.005
               else cy.r_adj < 0.03 end as adjust
        offset 0) as g
  offset 0
) sp
cross join lateral generate_series(0, sp.slots - 1) as sl(i)
-- one slot: its kind, time, amount and the ids it refers to
cross join lateral (
  select k.*,
         -- a failed batch is refunded (fully, or half) most of the time
         case when k.batch_status = 'f' and pg_temp.rnd(k.key, 1, 21) < 0.7
              then case when pg_temp.rnd(k.key, 1, 22) < 0.8 then -k.amount
                        else greatest(1, -k.amount / 2) end end as refund,
         case when k.kind = 'purchase' then nextval(pg_temp.seq('public.transactions')) end as tx_id,
         case when k.kind = 'gift_card' then nextval(pg_temp.seq('public.gift_cards')) end as gift_card_id,
         case when k.kind = 'generation' then nextval(pg_temp.seq('public.photo_generation_batches')) end
           as batch_id
  from (
    select x.*,
           case x.kind
             when 'coupon' then u.coupon_credits
             when 'purchase' then tp.credits
             when 'gift_card' then tp.credits
             when 'training' then -tp.tc
             when 'admin_adjustment' then
               case when u.failed_model then tp.tc else 5 * (1 + floor(pg_temp.rnd(x.key, 0, 23) * 10))::int end
             else -x.images * x.ppi end as amount,
           case x.kind
             when 'purchase' then tp.pack
             when 'gift_card' then tp.pack
             when 'generation' then x.ppi
             when 'admin_adjustment' then
               case when u.failed_model then 5 else 1 + floor(pg_temp.rnd(x.key, 0, 24) * 4)::int end
           end as note,
           case when x.kind in ('training', 'generation') then u.model_base + cy.model_no + 1 end as model_id,
           case when x.kind = 'coupon' then u.coupon_id end as coupon_id,
           case when x.kind <> 'generation' then null
                when pg_temp.rnd(x.key, 0, 25) < case when u.seg = 'w' then 0.02 else 0.04 end then 'f'
                else 'c' end::"char" as batch_status,
           x.kind = 'purchase' and cy.c = (u.coupon_id is not null)::int as first_purchase
    from (
      select y.*,
             -- 4 images per reference image (1-5 of them), 1 or 2 credits per image
             (4 * (1 + floor(sqrt(pg_temp.rnd(y.key, 0, 26)) * least(5, sp.budget / (4 * y.ppi)))))::int
               as images
      from (
        select z.*,
               case when sp.budget >= 8 and pg_temp.rnd(z.key, 0, 27) < 0.3 then 2 else 1 end as ppi
        from (
          select (u.id::bigint << 32) + (cy.c::bigint << 8) + sl.i as key,
                 case when sl.i = 0 then cy.topup
                      when cy.training and sl.i = 1 then 'training'
                      when sp.adjust and sl.i = sp.slots - 1 then 'admin_adjustment'
                      else 'generation' end::public.credit_history_type as kind,
                 cy.c_width / sp.slots as step,
                 -- the top-up comes first (a sign-up coupon within 30 minutes
                 -- of signing up), then the slots, evenly spread with jitter
                 case when sl.i = 0
                      then cy.c_start + least(cy.c_width / sp.slots * 0.5, 1800) * pg_temp.rnd(u.id, cy.c, 14)
                      else cy.c_start + cy.c_width / sp.slots
                                        * (sl.i + 0.5 * pg_temp.rnd(u.id, (cy.c::bigint << 8) + sl.i, 15))
                 end as t
          offset 0
        ) z
        offset 0
      ) y
      offset 0
    ) x
    offset 0
  ) k
  offset 0
) s
-- a refunded batch gets its refund entry right after it
cross join lateral generate_series(0, (s.refund is not null)::int) as ex(sub);

-- The nine special users come back at the end: they buy a Starter pack and
-- start a batch that is still 'generating' (six stuck for hours, three
-- started a few minutes ago).
create temp table seed_special on commit drop as
select u.id as user_id, u.model_base + u.models as model_id, 4 * (1 + d.special % 5) as images,
       now() - d.ago as started
from seed_user u
join (values (1, interval '2 hours'), (2, interval '3 hours'), (3, interval '5 hours'),
             (4, interval '8 hours'), (5, interval '14 hours'), (6, interval '26 hours'),
             (7, interval '4 minutes'), (8, interval '11 minutes'), (9, interval '27 minutes'))
  as d(special, ago) on d.special = u.special
order by u.id;

-- The plan, written in one statement: CREATE TABLE AS appends rows in the
-- order they come (INSERT may fill earlier pages' free space), and the later
-- steps rely on reading them back in that order: per user, oldest first.
-- Columns: user_id, t, kind, amount, note (purchase/gift_card: credit pack id;
-- generation: credits per image; refund: 1 = partial; admin_adjustment: which
-- reason), tx_id, model_id (training: the model trained; generation: the
-- model used), gift_card_id, coupon_id, batch_id, batch_status ('c'
-- completed, 'f' failed, 'g' generating), images, first_purchase.
create temp table seed_plan on commit drop as
-- whales (users 1-3) first, exactly `target` entries each: a prefix of a
-- valid ledger is valid, and LIMIT stops the generator right there
select w.*
from seed_user u
cross join lateral (select * from seed_plan_rows v where v.user_id = u.id limit u.target) w
where u.id <= 3
union all
select * from seed_plan_rows where user_id > 3
union all
-- the special users' last purchase, and the batch still generating
select x.user_id, x.t, x.kind, x.amount, 1::smallint, x.tx_id, x.model_id, null, null, x.batch_id,
       x.batch_status, x.images, false
from (
  select sp.user_id,
         case when e.sub = 0 then sp.started - interval '10 minutes' else sp.started end as t,
         case when e.sub = 0 then 'purchase' else 'generation' end::public.credit_history_type as kind,
         case when e.sub = 0 then 100 else -sp.images end as amount,
         case when e.sub = 0 then nextval(pg_temp.seq('public.transactions'))::int end as tx_id,
         case when e.sub = 1 then sp.model_id end as model_id,
         case when e.sub = 1 then nextval(pg_temp.seq('public.photo_generation_batches'))::int end
           as batch_id,
         case when e.sub = 1 then 'g' end::"char" as batch_status,
         case when e.sub = 1 then sp.images end::smallint as images
  from seed_special sp
  cross join lateral (values (0), (1)) as e(sub)
  offset 0
) x;

drop view seed_plan_rows;

analyze seed_plan;
