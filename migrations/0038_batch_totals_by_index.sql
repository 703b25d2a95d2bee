-- What a batch charged and refunded, read through indexes: the entries
-- linked to the batch, then those linked only through one of its photos, as
-- two index scans. (0024's single OR over both links could use no index and
-- read the whole ledger for every batch: 1.7 s a batch on the 1M-user
-- seed, too slow for one `batches fail` and impossible for ten thousand.)
-- Each entry still counts once: the second part takes only entries that
-- name no batch.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

create or replace function creditdesk.batch_totals(p_batch integer,
                                                   out charged bigint, out refunded bigint,
                                                   out refunds bigint)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(-sum(e.amount) filter (where e.type = 'generation'), 0)::bigint,
         coalesce(sum(e.amount) filter (where e.type = 'refund' and e.direct), 0)::bigint,
         count(*) filter (where e.type = 'refund' and e.direct)
  from (select h.amount, h.type, true as direct
        from public.credit_history h where h."relatedBatchId" = p_batch
        union all
        select h.amount, h.type, false
        from public.photos p
        join public.credit_history h on h."relatedPhotoId" = p.id
        where p."generationBatchId" = p_batch and h."relatedBatchId" is null) e
$$;
