-- Seed sections 1, 2 and 4: models' new columns, training images, generation batches.
-- models is the app's table: only new columns, nullable or with a constant
-- default (no table rewrite), under a short lock timeout. Their value rules
-- are added only when the tool created models itself.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

insert into creditdesk.added_columns ("tableName", "columnName")
select 'models', c
from unnest(array['gender', 'previewImageUrl', 'trainingCreditsUsed', 'imagesCount']) c
where not exists (select 1 from pg_attribute
                  where attrelid = 'public.models'::regclass and attname = c and not attisdropped)
on conflict do nothing;

alter table public.models
  add column if not exists gender text,
  add column if not exists "previewImageUrl" text,
  add column if not exists "trainingCreditsUsed" integer not null default 0,
  add column if not exists "imagesCount" integer;

-- (A DO block: the rules apply only to a models table the tool created.)
do $$
begin
  if exists (select 1 from creditdesk.created_base_tables where name = 'models') then
    alter table public.models
      add constraint models_gender_check check (gender in ('hombre', 'mujer')),
      add constraint "models_trainingCreditsUsed_check" check ("trainingCreditsUsed" >= 0),
      add constraint "models_imagesCount_check" check ("imagesCount" between 1 and 5);
  end if;
end $$;

create table if not exists public.model_training_images (
  id serial not null,
  "modelId" integer not null,
  "imageUrl" text not null,
  "imageOrder" integer not null,
  "fileSize" integer null,
  "fileName" text null,
  "createdAt" timestamp with time zone not null default now(),
  constraint model_training_images_pkey primary key (id),
  constraint "model_training_images_modelId_fkey" foreign key ("modelId")
    references public.models (id) on delete cascade,
  constraint "model_training_images_imageOrder_check" check ("imageOrder" between 1 and 5),
  constraint "model_training_images_modelId_imageOrder_key" unique ("modelId", "imageOrder"),
  constraint "model_training_images_fileSize_check" check ("fileSize" >= 0)
);

-- modelId is nullable (the seed says not null yet "on delete set null"): a
-- batch is a record of credits spent and outlives its model.
create table if not exists public.photo_generation_batches (
  id serial not null,
  "userId" integer not null,
  "modelId" integer null,
  "totalImagesGenerated" integer not null,
  "creditsUsed" integer not null,
  "aspectRatio" text not null,
  "glasses" text not null,
  "hairColor" text null,
  "hairStyle" text null,
  "backgrounds" jsonb null,
  "styles" jsonb null,
  "status" text not null default 'generating',
  "createdAt" timestamp with time zone not null default now(),
  "completedAt" timestamp with time zone null,
  constraint photo_generation_batches_pkey primary key (id),
  constraint "photo_generation_batches_userId_fkey" foreign key ("userId")
    references public.users (id) on delete cascade,
  constraint "photo_generation_batches_modelId_fkey" foreign key ("modelId")
    references public.models (id) on delete set null,
  constraint "photo_generation_batches_totalImagesGenerated_check" check ("totalImagesGenerated" >= 0),
  constraint "photo_generation_batches_creditsUsed_check" check ("creditsUsed" >= 0),
  constraint "photo_generation_batches_aspectRatio_check" check ("aspectRatio" in ('1:1', '9:16', '16:9')),
  constraint photo_generation_batches_glasses_check check (glasses in ('yes', 'no')),
  constraint "photo_generation_batches_hairColor_check"
    check ("hairColor" in ('default', 'black', 'brown', 'blonde', 'red')),
  constraint "photo_generation_batches_hairStyle_check"
    check ("hairStyle" in ('no-preference', 'short', 'medium', 'long', 'curly')),
  constraint photo_generation_batches_backgrounds_check check (jsonb_typeof(backgrounds) = 'array'),
  constraint photo_generation_batches_styles_check check (jsonb_typeof(styles) = 'array'),
  constraint photo_generation_batches_status_check check (status in ('generating', 'completed', 'failed'))
);

select creditdesk.secure();
