-- Decision: generation charges and batch refunds point at their batch, so a
-- batch can't be refunded twice: at most one refund entry per batch.
alter table public.credit_history
  add column if not exists "relatedBatchId" integer
    constraint "credit_history_relatedBatchId_fkey"
    references public.photo_generation_batches (id) on delete set null;
create unique index if not exists credit_history_one_refund_per_batch
  on public.credit_history ("relatedBatchId") where type = 'refund';
