-- Seed sections 10-12. Created before the tables that use them; only when missing.
do $$
begin
  if not exists (select 1 from pg_type where typname = 'coupon_discount_type' and typnamespace = 'public'::regnamespace) then
    create type public.coupon_discount_type as enum ('percentage', 'fixed_amount', 'credits');
  end if;
  if not exists (select 1 from pg_type where typname = 'gift_card_status' and typnamespace = 'public'::regnamespace) then
    create type public.gift_card_status as enum ('pending', 'active', 'redeemed', 'expired');
  end if;
  if not exists (select 1 from pg_type where typname = 'credit_history_type' and typnamespace = 'public'::regnamespace) then
    create type public.credit_history_type as enum (
      'purchase', 'gift_card', 'coupon', 'generation', 'training', 'refund', 'admin_adjustment');
  end if;
end $$;
