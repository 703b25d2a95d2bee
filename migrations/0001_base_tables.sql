-- The app's existing tables, as far as the seed implies them. In production
-- they already exist with these basic fields (and rows), so everything here is
-- "create if missing": tables, indexes and constraints alike.

create or replace function pg_temp.ensure_constraint(tbl regclass, name text, definition text)
returns void language plpgsql as $$
begin
  if not exists (select 1 from pg_constraint where conrelid = tbl and conname = name) then
    execute format('alter table %s add constraint %I %s', tbl, name, definition);
  end if;
end $$;

create table if not exists public.users (
  id serial primary key,
  email text not null,
  name text,
  credits integer not null default 0,
  "createdAt" timestamptz not null default now()
);
select pg_temp.ensure_constraint('public.users', 'users_credits_check', 'check (credits >= 0)');
create unique index if not exists users_email_lower_key on public.users (lower(email));

create table if not exists public.credit_packs (
  id serial primary key,
  name text not null,
  credits integer not null,
  price numeric(10, 2) not null,
  "isActive" boolean not null default true,
  "createdAt" timestamptz not null default now()
);
select pg_temp.ensure_constraint('public.credit_packs', 'credit_packs_name_key', 'unique (name)');
select pg_temp.ensure_constraint('public.credit_packs', 'credit_packs_credits_check', 'check (credits > 0)');
select pg_temp.ensure_constraint('public.credit_packs', 'credit_packs_price_check', 'check (price >= 0)');

create table if not exists public.models (
  id serial primary key,
  "userId" integer not null,
  name text not null,
  status text,
  "createdAt" timestamptz not null default now()
);
select pg_temp.ensure_constraint('public.models', 'models_userId_fkey',
  'foreign key ("userId") references public.users (id) on delete cascade');
select pg_temp.ensure_constraint('public.models', 'models_status_check',
  $c$check (status in ('training', 'ready', 'failed'))$c$);

create table if not exists public.example_images (
  id serial primary key,
  "imageUrl" text not null,
  category text,
  "createdAt" timestamptz not null default now()
);

create table if not exists public.photos (
  id serial primary key,
  "userId" integer not null,
  "modelId" integer,
  "imageUrl" text not null,
  prompt text,
  "createdAt" timestamptz not null default now()
);
select pg_temp.ensure_constraint('public.photos', 'photos_userId_fkey',
  'foreign key ("userId") references public.users (id) on delete cascade');
select pg_temp.ensure_constraint('public.photos', 'photos_modelId_fkey',
  'foreign key ("modelId") references public.models (id) on delete set null');

-- userId is nullable and set null on delete: money records outlive accounts.
create table if not exists public.transactions (
  id serial primary key,
  "userId" integer,
  "creditPackId" integer,
  amount numeric(10, 2) not null,
  currency text not null,
  status text,
  "createdAt" timestamptz not null default now()
);
select pg_temp.ensure_constraint('public.transactions', 'transactions_userId_fkey',
  'foreign key ("userId") references public.users (id) on delete set null');
select pg_temp.ensure_constraint('public.transactions', 'transactions_creditPackId_fkey',
  'foreign key ("creditPackId") references public.credit_packs (id) on delete set null');
select pg_temp.ensure_constraint('public.transactions', 'transactions_status_check',
  $c$check (status in ('pending', 'completed', 'failed', 'refunded'))$c$);
