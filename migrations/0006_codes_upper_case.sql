-- Decision: coupon and gift-card codes are stored upper-case, trimmed, so the
-- existing unique constraints make them unique regardless of case.
update public.coupons set code = upper(btrim(code)) where code <> upper(btrim(code));
update public.gift_cards set code = upper(btrim(code)) where code <> upper(btrim(code));
alter table public.coupons drop constraint if exists coupons_code_check;
alter table public.coupons
  add constraint coupons_code_check check (code = upper(btrim(code)) and code <> '');
alter table public.gift_cards drop constraint if exists gift_cards_code_check;
alter table public.gift_cards
  add constraint gift_cards_code_check check (code = upper(btrim(code)) and code <> '');

-- Codes are matched regardless of case, spaces and dashes (people read them
-- aloud and retype them), so they are also unique in that normalised form,
-- and that form is indexed for lookups.
create unique index if not exists coupons_code_lookup_key
  on public.coupons ((replace(replace(code, '-', ''), ' ', '')));
create unique index if not exists gift_cards_code_lookup_key
  on public.gift_cards ((replace(replace(code, '-', ''), ' ', '')));
