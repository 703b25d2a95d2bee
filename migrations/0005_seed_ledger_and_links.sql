-- Seed sections 3, 8 and 9: the credit ledger, photos' and transactions' new columns.

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

-- New columns on existing tables are nullable or defaulted, so the ALTER
-- succeeds on a table full of rows.
alter table public.photos
  add column if not exists "creditsUsed" integer not null default 0
    constraint "photos_creditsUsed_check" check ("creditsUsed" >= 0),
  add column if not exists "aspectRatio" text
    constraint "photos_aspectRatio_check" check ("aspectRatio" in ('1:1', '9:16', '16:9')),
  add column if not exists glasses text
    constraint photos_glasses_check check (glasses in ('yes', 'no')),
  add column if not exists "hairColor" text
    constraint "photos_hairColor_check" check ("hairColor" in ('default', 'black', 'brown', 'blonde', 'red')),
  add column if not exists "hairStyle" text
    constraint "photos_hairStyle_check" check ("hairStyle" in ('no-preference', 'short', 'medium', 'long', 'curly')),
  add column if not exists backgrounds jsonb
    constraint photos_backgrounds_check check (jsonb_typeof(backgrounds) = 'array'),
  add column if not exists styles jsonb
    constraint photos_styles_check check (jsonb_typeof(styles) = 'array'),
  add column if not exists "referenceImageId" integer
    constraint "photos_referenceImageId_fkey" references public.example_images (id) on delete set null,
  add column if not exists "downloadCount" integer not null default 0
    constraint "photos_downloadCount_check" check ("downloadCount" >= 0),
  add column if not exists "isFavorite" boolean not null default false,
  add column if not exists "generationBatchId" integer
    constraint "photos_generationBatchId_fkey" references public.photo_generation_batches (id) on delete set null;

-- transactions.giftCardId and gift_cards.transactionId point at each other:
-- gift_cards exists now, so the key can be added.
alter table public.transactions
  add column if not exists "couponId" integer
    constraint "transactions_couponId_fkey" references public.coupons (id) on delete set null,
  add column if not exists "giftCardId" integer
    constraint "transactions_giftCardId_fkey" references public.gift_cards (id) on delete set null,
  add column if not exists "creditsAwarded" integer
    constraint "transactions_creditsAwarded_check" check ("creditsAwarded" >= 0);
