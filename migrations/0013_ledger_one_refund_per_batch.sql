-- no-transaction
-- Decision: at most one refund entry per batch, whoever writes it.
-- squawk-ignore-file ban-concurrent-index-creation-in-transaction
set lock_timeout = '10s';
set statement_timeout = 0;
create unique index concurrently if not exists credit_history_one_refund_per_batch
  on public.credit_history ("relatedBatchId") where type = 'refund';
