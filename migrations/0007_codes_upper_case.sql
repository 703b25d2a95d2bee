-- Decision: coupon and gift-card codes are stored upper-case and trimmed, so
-- the unique constraints make them unique regardless of case. Added NOT
-- VALID (no scan under the lock) and validated in a later migration.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

alter table public.coupons
  add constraint coupons_code_check check (code = upper(btrim(code)) and code <> '') not valid;
alter table public.gift_cards
  add constraint gift_cards_code_check check (code = upper(btrim(code)) and code <> '') not valid;
