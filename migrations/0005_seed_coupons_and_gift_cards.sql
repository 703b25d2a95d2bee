-- Seed sections 5-7: coupons, their redemptions, gift cards. New tables, so
-- they carry every rule of schema.md from the start.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

create table if not exists public.coupons (
  id serial not null,
  "code" text not null,
  "description" text null,
  "discountType" public.coupon_discount_type not null,
  "discountValue" numeric(10, 2) not null,
  "maxUses" integer null,
  "usedCount" integer not null default 0,
  "validFrom" timestamp with time zone not null default now(),
  "validUntil" timestamp with time zone null,
  "isActive" boolean not null default true,
  "createdAt" timestamp with time zone not null default now(),
  constraint coupons_pkey primary key (id),
  constraint coupons_code_key unique (code),
  constraint "coupons_discountValue_check" check (
    "discountValue" > 0
    and ("discountType" <> 'percentage' or "discountValue" <= 100)
    and ("discountType" <> 'credits' or "discountValue" = trunc("discountValue"))),
  constraint "coupons_maxUses_check" check ("maxUses" > 0),
  constraint "coupons_usedCount_check" check ("usedCount" >= 0 and ("maxUses" is null or "usedCount" <= "maxUses")),
  constraint coupons_validity_check check ("validUntil" is null or "validUntil" > "validFrom")
);

create table if not exists public.coupon_redemptions (
  id serial not null,
  "userId" integer not null,
  "couponId" integer not null,
  "creditsAwarded" integer null,
  "discountApplied" numeric(10, 2) null,
  "transactionId" integer null,
  "redeemedAt" timestamp with time zone not null default now(),
  constraint coupon_redemptions_pkey primary key (id),
  constraint "coupon_redemptions_userId_fkey" foreign key ("userId")
    references public.users (id) on delete cascade,
  constraint "coupon_redemptions_couponId_fkey" foreign key ("couponId")
    references public.coupons (id) on delete cascade,
  constraint "coupon_redemptions_transactionId_fkey" foreign key ("transactionId")
    references public.transactions (id) on delete set null,
  constraint "coupon_redemptions_creditsAwarded_check" check ("creditsAwarded" > 0),
  constraint "coupon_redemptions_discountApplied_check" check ("discountApplied" >= 0)
);

create table if not exists public.gift_cards (
  id serial not null,
  "code" text not null,
  "purchasedByUserId" integer null,
  "purchasedByEmail" text null,
  "recipientEmail" text null,
  "creditPackId" integer null,
  "credits" integer not null,
  "price" numeric(10, 2) not null,
  "status" public.gift_card_status not null default 'pending',
  "redeemedByUserId" integer null,
  "redeemedAt" timestamp with time zone null,
  "expiresAt" timestamp with time zone null,
  "transactionId" integer null,
  "createdAt" timestamp with time zone not null default now(),
  constraint gift_cards_pkey primary key (id),
  constraint gift_cards_code_key unique (code),
  constraint "gift_cards_purchasedByUserId_fkey" foreign key ("purchasedByUserId")
    references public.users (id) on delete set null,
  constraint "gift_cards_creditPackId_fkey" foreign key ("creditPackId")
    references public.credit_packs (id) on delete set null,
  constraint "gift_cards_redeemedByUserId_fkey" foreign key ("redeemedByUserId")
    references public.users (id) on delete set null,
  constraint "gift_cards_transactionId_fkey" foreign key ("transactionId")
    references public.transactions (id) on delete set null,
  constraint gift_cards_credits_check check (credits > 0),
  constraint gift_cards_price_check check (price >= 0),
  constraint "gift_cards_redeemedAt_check" check ((status = 'redeemed') = ("redeemedAt" is not null))
);

select creditdesk.secure();
