-- The keys and rules added NOT VALID above, validated now: VALIDATE scans the
-- table under a lock that lets the app go on reading and writing. Only the
-- ones that exist (the keys on the app's tables were added only to columns
-- the tool created). (A DO block for that reason.)
set local lock_timeout = '3s';
set local statement_timeout = '1800s';

do $$
declare
  k record;
begin
  for k in
    select c.conrelid::regclass as tbl, c.conname
    from pg_constraint c
    where not c.convalidated
      and c.conname in ('photos_referenceImageId_fkey', 'photos_generationBatchId_fkey',
                        'transactions_couponId_fkey', 'transactions_giftCardId_fkey',
                        'coupons_code_check', 'gift_cards_code_check',
                        'gift_cards_revocation_check', 'credit_history_relatedBatchId_fkey')
      and c.conrelid in ('public.photos'::regclass, 'public.transactions'::regclass,
                         'public.coupons'::regclass, 'public.gift_cards'::regclass,
                         'public.credit_history'::regclass)
    order by 1, 2
  loop
    execute format('alter table %s validate constraint %I', k.tbl, k.conname);
  end loop;
end $$;
