-- Decision: a balance adjustment may carry an idempotency key, so a command
-- retried after a dropped connection (or a key pressed twice) books it once.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

alter table public.credit_history add column if not exists "idempotencyKey" text;
