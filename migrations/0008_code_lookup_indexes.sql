-- no-transaction
-- Decision: codes are matched regardless of case, spaces and dashes (people
-- read them aloud and retype them), so they are also unique in that
-- normalised form, and that form is indexed for lookups.
--
-- Built CONCURRENTLY, which needs a file that runs outside a transaction
-- (sqlx's "-- no-transaction"); squawk assumes every file runs in one:
-- squawk-ignore-file ban-concurrent-index-creation-in-transaction
set lock_timeout = '10s';
set statement_timeout = 0;
create unique index concurrently if not exists coupons_code_lookup_key
  on public.coupons ((replace(replace(code, '-', ''), ' ', '')));
create unique index concurrently if not exists gift_cards_code_lookup_key
  on public.gift_cards ((replace(replace(code, '-', ''), ' ', '')));
