-- no-transaction
-- Indexes on the app's tables, for the screens and for the foreign keys the
-- tool added: built concurrently, so the app keeps writing while they build.
-- (A build cut short leaves an invalid index; `creditdesk migrate` finds it
-- and builds it again.) The operator class is found wherever pg_trgm lives.
-- squawk-ignore-file ban-concurrent-index-creation-in-transaction
set lock_timeout = '10s';
set statement_timeout = 0;
set search_path = public, extensions;

-- users: newest first, and substring search on email and name
create index concurrently if not exists users_created_idx on public.users ("createdAt" desc, id desc);
create index concurrently if not exists users_email_trgm_idx on public.users using gin (email gin_trgm_ops);
create index concurrently if not exists users_name_trgm_idx on public.users using gin (name gin_trgm_ops);
create index concurrently if not exists users_email_lower_idx on public.users (lower(email));

create index concurrently if not exists models_user_idx on public.models ("userId");
create index concurrently if not exists photos_user_idx on public.photos ("userId");
create index concurrently if not exists photos_model_idx on public.photos ("modelId") where "modelId" is not null;
create index concurrently if not exists photos_reference_image_idx
  on public.photos ("referenceImageId") where "referenceImageId" is not null;
create index concurrently if not exists photos_batch_idx
  on public.photos ("generationBatchId") where "generationBatchId" is not null;
create index concurrently if not exists transactions_user_idx on public.transactions ("userId");
create index concurrently if not exists transactions_credit_pack_idx
  on public.transactions ("creditPackId") where "creditPackId" is not null;
create index concurrently if not exists transactions_coupon_idx
  on public.transactions ("couponId") where "couponId" is not null;
create index concurrently if not exists transactions_gift_card_idx
  on public.transactions ("giftCardId") where "giftCardId" is not null;
