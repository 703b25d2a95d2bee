-- no-transaction
-- Decision: an idempotency key books one entry, whoever writes it.
-- squawk-ignore-file ban-concurrent-index-creation-in-transaction
set lock_timeout = '10s';
set statement_timeout = 0;
create unique index concurrently if not exists credit_history_idempotency_key
  on public.credit_history ("idempotencyKey") where "idempotencyKey" is not null;
