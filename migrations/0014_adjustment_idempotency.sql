-- Decision: a balance adjustment may carry an idempotency key, so a command
-- retried after a dropped connection (or a key pressed twice) books it once.
alter table public.credit_history add column if not exists "idempotencyKey" text;
create unique index if not exists credit_history_idempotency_key
  on public.credit_history ("idempotencyKey") where "idempotencyKey" is not null;
