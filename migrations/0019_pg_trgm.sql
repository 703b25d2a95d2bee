-- Decision: users are searched by any part of their email or name, with
-- trigram indexes (pg_trgm, from contrib and on Supabase; a trusted
-- extension: CREATE on the database is enough). It goes into the
-- `extensions` schema when that exists (Supabase's convention), else public;
-- an installation that already has it keeps it where it is.
-- (A DO block: the schema is chosen at run time.)
set local lock_timeout = '3s';
set local statement_timeout = '60s';

do $$
begin
  if not exists (select 1 from pg_extension where extname = 'pg_trgm') then
    if to_regnamespace('extensions') is not null then
      create extension pg_trgm schema extensions;
    else
      create extension pg_trgm schema public;
    end if;
  end if;
end $$;
