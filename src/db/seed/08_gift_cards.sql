-- Gift cards: the ones redeemed in the plan, plus cards in every other state.
-- Each card was bought in a transaction of its own (by a user, or by a guest
-- without an account), which awards no credits to the buyer.
create temp table seed_gift on commit drop as
with redeemed as (
  -- bought by an earlier user or a guest, in the month before redemption
  select p.gift_card_id as id, p.note as pack, p.amount as credits, p.user_id as redeemed_by,
         p.t as redeemed_at,
         case when p.user_id > 1 and pg_temp.rnd(p.gift_card_id, 0, 71) < 0.55
              then 1 + floor(pg_temp.rnd(p.gift_card_id, 0, 72) * (p.user_id - 1))::int end as buyer,
         p.t - interval '30 days' * pg_temp.rnd(p.gift_card_id, 0, 73) as bought_at
  from seed_plan p
  where p.kind = 'gift_card'
),
unredeemed as (
  -- the state follows the card's number, so every state exists
  select s.id, s.slot,
         case when s.slot < 3 then 'pending'
              -- slots 10-11: past expiresAt but still stored 'active'
              when s.slot < 12 then 'active'
              when s.slot < 16 then 'expired'
              else 'revoked' end::public.gift_card_status as status,
         now() - case when s.slot < 3 then interval '2 days' * pg_temp.rnd(s.id, 0, 78)
                      when s.slot < 10 then interval '5 days' + interval '320 days' * pg_temp.rnd(s.id, 0, 78)
                      when s.slot < 12 then interval '380 days' + interval '200 days' * pg_temp.rnd(s.id, 0, 78)
                      when s.slot < 16 then interval '370 days' + interval '340 days' * pg_temp.rnd(s.id, 0, 78)
                      else interval '3 days' + interval '300 days' * pg_temp.rnd(s.id, 0, 78) end
           as created_at,
         case when pg_temp.rnd(s.id, 0, 79) < 0.5 then 1
              when pg_temp.rnd(s.id, 0, 79) < 0.85 then 2 else 3 end as pack,
         -- a user who had signed up by then, or else a guest
         case when pg_temp.n() > 0 and pg_temp.rnd(s.id, 0, 80) < 0.6
              then 1 + floor(pg_temp.rnd(s.id, 0, 81) * pg_temp.n())::int end as maybe_buyer
  from (select nextval(pg_temp.seq('public.gift_cards'))::int as id, j % 20 as slot
        from generate_series(0, greatest(40, pg_temp.n() / 450)::int - 1) as j) s
),
cards as (
  select r.id, r.pack, r.credits, 'redeemed'::public.gift_card_status as status, r.buyer,
         case when r.buyer is null then pg_temp.guest_email(-r.id) end as buyer_email,
         -- mostly sent to the address of the account that redeemed it
         case when pg_temp.rnd(r.id, 0, 70) < 0.85 then u.email
              else pg_temp.guest_email(-r.id - 1000000) end as recipient_email,
         r.redeemed_by, r.redeemed_at,
         greatest(pg_temp.user_created(r.buyer), r.bought_at) as created_at,
         null::timestamptz as revoked_at, null::text as revoked_by, null::text as revoke_reason,
         'completed' as tx_status
  from redeemed r
  join seed_user u on u.id = r.redeemed_by
  union all
  select o.id, o.pack, case o.pack when 1 then 100 when 2 then 500 else 1200 end, o.status, b.buyer,
         case when b.buyer is null then pg_temp.guest_email(-o.id) end,
         -- some recipients already have an account
         coalesce(case when pg_temp.rnd(o.id, 0, 74) < 0.3 then ru.email end,
                  pg_temp.guest_email(-o.id - 1000000)),
         null, null, o.created_at,
         case when o.status = 'revoked'
              then o.created_at + (now() - o.created_at) * 0.2 * pg_temp.rnd(o.id, 0, 75) end,
         case when o.status = 'revoked'
              then pg_temp.pick(array['alice@support.example.com', 'marco@support.example.com',
                                      'ops-oncall'], pg_temp.rnd(o.id, 0, 76)) end,
         case when o.status = 'revoked'
              then pg_temp.pick(array['chargeback on the purchase', 'fraud: card reported stolen',
                                      'customer request: bought twice', 'sent to the wrong recipient'],
                                pg_temp.rnd(o.id, 0, 77)) end,
         case o.status when 'pending' then 'pending' when 'revoked' then 'refunded' else 'completed' end
  from unredeemed o
  cross join lateral (
    select case when pg_temp.user_created(o.maybe_buyer) < o.created_at then o.maybe_buyer end as buyer
  ) b
  left join seed_user ru on ru.id = 1 + floor(pg_temp.rnd(o.id, 0, 82) * greatest(pg_temp.n(), 1))::int
)
-- the purchase transaction's id, drawn in card order
select c.*, nextval(pg_temp.seq('public.transactions'))::int as tx_id
from cards c
order by c.id;

-- The card, its purchase transaction, then the card's link back to it (the
-- two tables point at each other).
insert into public.gift_cards (id, code, "purchasedByUserId", "purchasedByEmail", "recipientEmail",
                               "creditPackId", credits, price, status, "redeemedByUserId", "redeemedAt",
                               "expiresAt", "createdAt", "revokedAt", "revokedBy", "revokeReason")
select g.id, pg_temp.gift_code(g.id), g.buyer, g.buyer_email, g.recipient_email, g.pack, g.credits,
       k.price, g.status, g.redeemed_by, g.redeemed_at, g.created_at + interval '365 days',
       g.created_at, g.revoked_at, g.revoked_by, g.revoke_reason
from seed_gift g
join public.credit_packs k on k.id = g.pack;

insert into public.transactions (id, "userId", "creditPackId", amount, currency, status, "createdAt",
                                 "giftCardId", "creditsAwarded")
select g.tx_id, g.buyer, g.pack, k.price, 'USD', g.tx_status, g.created_at, g.id, 0
from seed_gift g
join public.credit_packs k on k.id = g.pack;

update public.gift_cards c
set "transactionId" = g.tx_id
from seed_gift g
where g.id = c.id;
