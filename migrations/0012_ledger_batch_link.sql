-- Decision: generation charges and batch refunds point at their batch, so a
-- batch can't be refunded twice (at most one refund entry per batch: the
-- next migration's index).
set local lock_timeout = '3s';
set local statement_timeout = '60s';

alter table public.credit_history add column if not exists "relatedBatchId" integer;
alter table public.credit_history
  add constraint "credit_history_relatedBatchId_fkey" foreign key ("relatedBatchId")
  references public.photo_generation_batches (id) on delete set null not valid;
