-- Seed sections 10-12. Created before the tables that use them; only when missing.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

do $$
begin
  if to_regtype('public.coupon_discount_type') is null then
    create type public.coupon_discount_type as enum ('percentage', 'fixed_amount', 'credits');
  end if;
  if to_regtype('public.gift_card_status') is null then
    create type public.gift_card_status as enum ('pending', 'active', 'redeemed', 'expired');
  end if;
  if to_regtype('public.credit_history_type') is null then
    create type public.credit_history_type as enum (
      'purchase', 'gift_card', 'coupon', 'generation', 'training', 'refund', 'admin_adjustment');
  end if;
end $$;
