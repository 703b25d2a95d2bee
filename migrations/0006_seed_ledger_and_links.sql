-- Seed sections 3, 8 and 9: the credit ledger, and the new columns of the
-- app's photos and transactions. On the app's tables: new columns only,
-- nullable or with a constant default, under a short lock timeout; foreign
-- keys only on columns the tool added, added NOT VALID (no scan under the
-- lock) and validated in a later migration.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

create table if not exists public.credit_history (
  id serial not null,
  "userId" integer not null,
  "amount" integer not null,
  "type" public.credit_history_type not null,
  "description" text null,
  "relatedTransactionId" integer null,
  "relatedPhotoId" integer null,
  "relatedModelId" integer null,
  "relatedGiftCardId" integer null,
  "relatedCouponId" integer null,
  "createdAt" timestamp with time zone not null default now(),
  constraint credit_history_pkey primary key (id),
  constraint "credit_history_userId_fkey" foreign key ("userId")
    references public.users (id) on delete cascade,
  constraint "credit_history_relatedTransactionId_fkey" foreign key ("relatedTransactionId")
    references public.transactions (id) on delete set null,
  constraint "credit_history_relatedPhotoId_fkey" foreign key ("relatedPhotoId")
    references public.photos (id) on delete set null,
  constraint "credit_history_relatedModelId_fkey" foreign key ("relatedModelId")
    references public.models (id) on delete set null,
  constraint "credit_history_relatedGiftCardId_fkey" foreign key ("relatedGiftCardId")
    references public.gift_cards (id) on delete set null,
  constraint "credit_history_relatedCouponId_fkey" foreign key ("relatedCouponId")
    references public.coupons (id) on delete set null,
  constraint credit_history_amount_check check (amount <> 0)
);

insert into creditdesk.added_columns ("tableName", "columnName")
select t, c
from (values ('photos', 'creditsUsed'), ('photos', 'aspectRatio'), ('photos', 'glasses'),
             ('photos', 'hairColor'), ('photos', 'hairStyle'), ('photos', 'backgrounds'),
             ('photos', 'styles'), ('photos', 'referenceImageId'), ('photos', 'downloadCount'),
             ('photos', 'isFavorite'), ('photos', 'generationBatchId'),
             ('transactions', 'couponId'), ('transactions', 'giftCardId'),
             ('transactions', 'creditsAwarded')) as n(t, c)
where not exists (select 1 from pg_attribute
                  where attrelid = ('public.' || t)::regclass and attname = c and not attisdropped)
on conflict do nothing;

alter table public.photos
  add column if not exists "creditsUsed" integer not null default 0,
  add column if not exists "aspectRatio" text,
  add column if not exists glasses text,
  add column if not exists "hairColor" text,
  add column if not exists "hairStyle" text,
  add column if not exists backgrounds jsonb,
  add column if not exists styles jsonb,
  add column if not exists "referenceImageId" integer,
  add column if not exists "downloadCount" integer not null default 0,
  add column if not exists "isFavorite" boolean not null default false,
  add column if not exists "generationBatchId" integer;

alter table public.transactions
  add column if not exists "couponId" integer,
  add column if not exists "giftCardId" integer,
  add column if not exists "creditsAwarded" integer;

-- (A DO block: each key or rule goes only on a column the tool added, and
-- the value rules only on a table the tool created.)
do $$
declare
  k record;
begin
  for k in
    select * from (values
      ('photos', 'referenceImageId', 'photos_referenceImageId_fkey', 'public.example_images'),
      ('photos', 'generationBatchId', 'photos_generationBatchId_fkey', 'public.photo_generation_batches'),
      ('transactions', 'couponId', 'transactions_couponId_fkey', 'public.coupons'),
      ('transactions', 'giftCardId', 'transactions_giftCardId_fkey', 'public.gift_cards')
    ) as f(tbl, col, name, target)
    where exists (select 1 from creditdesk.added_columns a
                  where a."tableName" = f.tbl and a."columnName" = f.col)
      and not exists (select 1 from pg_constraint c
                      where c.conrelid = ('public.' || f.tbl)::regclass and c.conname = f.name)
  loop
    execute format('alter table public.%I add constraint %I foreign key (%I) references %s (id) '
                   'on delete set null not valid', k.tbl, k.name, k.col, k.target);
  end loop;

  if exists (select 1 from creditdesk.created_base_tables where name = 'photos') then
    alter table public.photos
      add constraint "photos_creditsUsed_check" check ("creditsUsed" >= 0),
      add constraint "photos_aspectRatio_check" check ("aspectRatio" in ('1:1', '9:16', '16:9')),
      add constraint photos_glasses_check check (glasses in ('yes', 'no')),
      add constraint "photos_hairColor_check"
        check ("hairColor" in ('default', 'black', 'brown', 'blonde', 'red')),
      add constraint "photos_hairStyle_check"
        check ("hairStyle" in ('no-preference', 'short', 'medium', 'long', 'curly')),
      add constraint photos_backgrounds_check check (jsonb_typeof(backgrounds) = 'array'),
      add constraint photos_styles_check check (jsonb_typeof(styles) = 'array'),
      add constraint "photos_downloadCount_check" check ("downloadCount" >= 0);
  end if;
  if exists (select 1 from creditdesk.created_base_tables where name = 'transactions') then
    alter table public.transactions
      add constraint "transactions_creditsAwarded_check" check ("creditsAwarded" >= 0);
  end if;
end $$;

select creditdesk.secure();
