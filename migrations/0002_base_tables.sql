-- The app's own tables, as far as the seed implies them. In production they
-- exist already, with the app's rows, constraints and policies, and are left
-- exactly as they are: nothing here runs for a table that exists. Only on an
-- empty database (the demo, the tests) are they created, whole and with the
-- rules of schema.md, and recorded in creditdesk.created_base_tables.
-- (A DO block because each creation is conditional on the table's absence.)
-- Their secondary indexes come later, built concurrently, as on the app's.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

do $$
begin
  if to_regclass('public.users') is null then
    create table public.users (
      id serial primary key,
      email text not null,
      name text,
      credits integer not null default 0 constraint users_credits_check check (credits >= 0),
      "createdAt" timestamptz not null default now()
    );
    -- (the same name as the plain index an existing users table gets later)
    create unique index users_email_lower_idx on public.users (lower(email));
    insert into creditdesk.created_base_tables (name) values ('users');
  end if;

  if to_regclass('public.credit_packs') is null then
    create table public.credit_packs (
      id serial primary key,
      name text not null constraint credit_packs_name_key unique,
      credits integer not null constraint credit_packs_credits_check check (credits > 0),
      price numeric(10, 2) not null constraint credit_packs_price_check check (price >= 0),
      "isActive" boolean not null default true,
      "createdAt" timestamptz not null default now()
    );
    insert into creditdesk.created_base_tables (name) values ('credit_packs');
  end if;

  if to_regclass('public.models') is null then
    create table public.models (
      id serial primary key,
      "userId" integer not null
        constraint "models_userId_fkey" references public.users (id) on delete cascade,
      name text not null,
      status text constraint models_status_check check (status in ('training', 'ready', 'failed')),
      "createdAt" timestamptz not null default now()
    );
    insert into creditdesk.created_base_tables (name) values ('models');
  end if;

  if to_regclass('public.example_images') is null then
    create table public.example_images (
      id serial primary key,
      "imageUrl" text not null,
      category text,
      "createdAt" timestamptz not null default now()
    );
    insert into creditdesk.created_base_tables (name) values ('example_images');
  end if;

  if to_regclass('public.photos') is null then
    create table public.photos (
      id serial primary key,
      "userId" integer not null
        constraint "photos_userId_fkey" references public.users (id) on delete cascade,
      "modelId" integer
        constraint "photos_modelId_fkey" references public.models (id) on delete set null,
      "imageUrl" text not null,
      prompt text,
      "createdAt" timestamptz not null default now()
    );
    insert into creditdesk.created_base_tables (name) values ('photos');
  end if;

  -- userId is nullable and set null on delete: money records outlive accounts.
  if to_regclass('public.transactions') is null then
    create table public.transactions (
      id serial primary key,
      "userId" integer
        constraint "transactions_userId_fkey" references public.users (id) on delete set null,
      "creditPackId" integer
        constraint "transactions_creditPackId_fkey" references public.credit_packs (id)
        on delete set null,
      amount numeric(10, 2) not null,
      currency text not null,
      status text constraint transactions_status_check
        check (status in ('pending', 'completed', 'failed', 'refunded')),
      "createdAt" timestamptz not null default now()
    );
    insert into creditdesk.created_base_tables (name) values ('transactions');
  end if;
end $$;

select creditdesk.secure();
