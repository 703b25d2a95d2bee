-- Issue 11: bulk work and undoing a mistake, as SECURITY DEFINER functions
-- like every other change (security.md §2), and a gift-card issue that can
-- be retried.
--   creditdesk.fail_batches     fail (and refund) the batches a preview
--                               listed, each as the preview saw it
--   creditdesk.adjust_many      a file of adjustments, idempotent per row
--   creditdesk.reverse_entry    the opposite of one ledger entry, once
--   creditdesk.issue_gift_cards (with an idempotency key) and
--   creditdesk.reveal_issued_gift_cards
-- Bulk calls take a chunk of items each (the client sends a run as chunks,
-- one transaction each, so a run cut short keeps what was done and a rerun
-- books nothing twice). A rule that turns an item down is an outcome of
-- that item, not an error of the call; the audit rows, one per item, are
-- written in one statement at the end, so the chain's head is held only
-- until the commit that follows.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

-- ---------------------------------------------------------------------------
-- The ledger as operators read it: each entry's reversal link, both ways
-- ---------------------------------------------------------------------------

create or replace view creditdesk.credit_history as
select h.id, h."userId", h.amount, h.type, h.description, h."relatedTransactionId",
       h."relatedPhotoId", h."relatedModelId", h."relatedGiftCardId", h."relatedCouponId",
       h."relatedBatchId", h."idempotencyKey", h."createdAt", h."reversesEntryId",
       (select r.id from public.credit_history r where r."reversesEntryId" = h.id)
         as "reversedByEntryId"
from public.credit_history h;

-- Books an entry as creditdesk.post does, optionally as the reversal of
-- another (p_reverses).
create or replace function creditdesk.post_entry(
  p_user integer, p_amount integer, p_type public.credit_history_type, p_description text,
  p_gift_card integer, p_coupon integer, p_batch integer, p_idempotency_key text,
  p_reverses integer)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_old bigint := creditdesk.lock_balance(p_user);
  v_new bigint := v_old + p_amount;
  v_entry integer;
begin
  if v_new < 0 then
    perform creditdesk.refuse('insufficient_credits',
      format('balance %s cannot take %s: it would go below zero', v_old, p_amount),
      jsonb_build_object('balance', v_old, 'change', p_amount));
  end if;
  if v_new > 2147483647 then
    perform creditdesk.refuse('balance_overflow',
      format('balance %s cannot take %s: it would exceed the largest balance (2147483647)',
             v_old, p_amount),
      jsonb_build_object('balance', v_old, 'change', p_amount));
  end if;
  update public.users set credits = v_new where id = p_user;
  insert into public.credit_history ("userId", amount, type, description, "relatedGiftCardId",
                                     "relatedCouponId", "relatedBatchId", "idempotencyKey",
                                     "reversesEntryId")
  values (p_user, p_amount, p_type, p_description, p_gift_card, p_coupon, p_batch,
          p_idempotency_key, p_reverses)
  returning id into v_entry;
  return jsonb_build_object('entry_id', v_entry, 'old_balance', v_old, 'new_balance', v_new);
end $$;

create or replace function creditdesk.post(
  p_user integer, p_amount integer, p_type public.credit_history_type, p_description text,
  p_gift_card integer default null, p_coupon integer default null, p_batch integer default null,
  p_idempotency_key text default null)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  return creditdesk.post_entry(p_user, p_amount, p_type, p_description, p_gift_card, p_coupon,
                               p_batch, p_idempotency_key, null);
end $$;

-- ---------------------------------------------------------------------------
-- Permissions: a reversal needs the right to book what it undoes
-- ---------------------------------------------------------------------------

create or replace function creditdesk.allowed_groups(p_action text)
returns text[]
language sql immutable
set search_path = pg_catalog, pg_temp
as $$
  select case p_action
    when 'coupon.create' then array['creditdesk_support', 'creditdesk_finance', 'creditdesk_admin']
    when 'coupon.deactivate' then array['creditdesk_support', 'creditdesk_finance', 'creditdesk_admin']
    when 'coupon.redeem' then array['creditdesk_support', 'creditdesk_finance', 'creditdesk_admin']
    when 'gift_card.redeem' then array['creditdesk_support', 'creditdesk_finance', 'creditdesk_admin']
    when 'gift_card.reveal' then array['creditdesk_support', 'creditdesk_finance', 'creditdesk_admin']
    when 'credits.adjust' then array['creditdesk_support', 'creditdesk_finance', 'creditdesk_admin']
    when 'gift_card.issue' then array['creditdesk_finance', 'creditdesk_admin']
    when 'gift_card.revoke' then array['creditdesk_finance', 'creditdesk_admin']
    when 'approval.decide' then array['creditdesk_finance', 'creditdesk_admin']
    when 'batch.fail' then array['creditdesk_oncall', 'creditdesk_admin']
    when 'operators.manage' then array['creditdesk_admin']
    when 'settings.change' then array['creditdesk_admin']
    -- whoever may book one of the entries a reversal undoes (see
    -- creditdesk.reverse_action): the function then asks for that one
    when 'credits.reverse' then array['creditdesk_support', 'creditdesk_finance',
                                      'creditdesk_oncall', 'creditdesk_admin']
    else array[]::text[]
  end
$$;

create or replace function creditdesk.action_description(p_action text)
returns text
language sql immutable
set search_path = pg_catalog, pg_temp
as $$
  select case p_action
    when 'coupon.create' then 'create coupons'
    when 'coupon.deactivate' then 'deactivate coupons'
    when 'coupon.redeem' then 'redeem coupons for a user'
    when 'gift_card.redeem' then 'redeem gift cards for a user'
    when 'gift_card.reveal' then 'reveal gift card codes'
    when 'credits.adjust' then 'adjust balances'
    when 'gift_card.issue' then 'issue gift cards'
    when 'gift_card.revoke' then 'revoke gift cards'
    when 'approval.decide' then 'approve or reject requests'
    when 'batch.fail' then 'fail and refund batches'
    when 'operators.manage' then 'manage operators'
    when 'settings.change' then 'change settings'
    when 'credits.reverse' then 'reverse ledger entries'
    else p_action
  end
$$;

-- ---------------------------------------------------------------------------
-- Requests: a bulk request's audit row names its items by digest (the rows
-- themselves are in the request, and each gets its own audit row when done)
-- ---------------------------------------------------------------------------

create or replace function creditdesk.request(p_kind text, p_payload jsonb, p_summary text,
                                              p_reason text, p_actor text, p_key text)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  r creditdesk.approval_requests;
  v_shown jsonb := p_payload;
begin
  insert into creditdesk.approval_requests (kind, payload, summary, reason, "requestedByLogin",
                                            "requestedBy", "expiresAt", "idempotencyKey")
  values (p_kind, p_payload, p_summary, p_reason, session_user, p_actor,
          now() + make_interval(hours => creditdesk.setting('approval.expires_after_hours')::int),
          p_key)
  returning * into r;
  if p_payload ? 'rows' or p_payload ? 'items' then
    v_shown := p_payload - 'rows' - 'items'
               || jsonb_build_object('payload_md5', md5(p_payload::text));
  end if;
  perform creditdesk.audit(p_actor, 'approval.request', 'approval_request', r.id::text, p_reason,
    jsonb_build_object('kind', p_kind, 'summary', p_summary, 'payload', v_shown,
                       'expires_at', r."expiresAt"));
  return jsonb_build_object('outcome', 'pending', 'request', creditdesk.request_json(r));
end $$;

-- The request a bulk change's key names, if it is still pending; a request
-- that expired or was rejected lets go of the key (asking again is a new
-- request), one that was approved is the change done: refused.
create or replace function creditdesk.pending_for_key(p_key text)
returns creditdesk.approval_requests
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  r creditdesk.approval_requests;
begin
  select * into r from creditdesk.approval_requests where "idempotencyKey" = p_key for update;
  if r.id is null then
    return null;
  end if;
  if r.status = 'approved' then
    perform creditdesk.refuse('already_decided',
      format('request #%s for this was already approved by %s', r.id, r."decidedBy"),
      jsonb_build_object('id', r.id, 'status', r.status, 'decided_by', r."decidedBy"));
  end if;
  if r.status = 'pending' and now() < r."expiresAt" then
    return r;
  end if;
  update creditdesk.approval_requests set "idempotencyKey" = null where id = r.id;
  return null;
end $$;

-- ---------------------------------------------------------------------------
-- Failing and refunding many batches
-- ---------------------------------------------------------------------------

-- p_items: [{"batch_id": 12, "expected_status": "generating"}, ...], the
-- batches as the preview saw them. Each is failed (and refunded, with
-- p_refund 'all') as `batches fail` would, or skipped with the reason:
--   changed           its status is no longer the one the preview saw
--   completed         (only with no expected status) it delivered its photos
--   already_failed    failed already, and no refund was asked
--   already_refunded  failed already, and refunded already
--   nothing_to_refund failed already, and it charged nothing
--   not_found         it no longer exists
-- Locks: the batches' users in id order, then the batches in id order, so
-- two bulk runs never deadlock and single writers queue as usual.
create or replace function creditdesk.fail_batches_now(p_items jsonb, p_reason text,
                                                       p_refund text, p_run jsonb,
                                                       p_actor text, p_approval jsonb)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  it record;
  b record;
  t record;
  v_ids integer[];
  v_skip text;
  v_mark boolean;
  v_amount bigint;
  v_old bigint;
  v_new bigint;
  v_description text;
  v_entries jsonb;
  v_items jsonb[] := '{}';
  v_marked integer[] := '{}';
  -- the refunds, booked in one statement at the end
  r_batch integer[] := '{}';
  r_user integer[] := '{}';
  r_amount integer[] := '{}';
  r_description text[] := '{}';
  -- what each done batch reports and audits (entry ids filled in at the end)
  d_batch integer[] := '{}';
  d_fields jsonb[] := '{}';
  v_done integer := 0;
  v_skipped integer := 0;
  v_refunded bigint := 0;
  i integer;
begin
  v_ids := array(select (e->>'batch_id')::int from jsonb_array_elements(p_items) e);
  perform 1 from public.users u
  where u.id in (select pb."userId" from public.photo_generation_batches pb where pb.id = any(v_ids))
  order by u.id
  for update;
  perform 1 from public.photo_generation_batches pb where pb.id = any(v_ids) order by pb.id
  for update;
  for it in
    select (e->>'batch_id')::int as id, e->>'expected_status' as expected
    from jsonb_array_elements(p_items) with ordinality as x(e, n)
    order by x.n
  loop
    v_skip := null;
    v_amount := null;
    select pb.status, pb."userId", coalesce(u.email, '') as email into b
    from public.photo_generation_batches pb join public.users u on u.id = pb."userId"
    where pb.id = it.id;
    if not found then
      v_skip := 'not_found';
    elsif it.expected is not null and b.status <> it.expected then
      v_skip := 'changed';
    elsif b.status not in ('generating', 'failed') then
      v_skip := 'completed';
    elsif b.status = 'failed' and p_refund = 'none' then
      v_skip := 'already_failed';
    else
      v_mark := b.status = 'generating';
      -- creditdesk.batch_totals, inline: a statement here keeps its plan,
      -- a SQL function call is planned again each time
      select coalesce(-sum(e.amount) filter (where e.type = 'generation'), 0)::bigint as charged,
             count(*) filter (where e.type = 'refund' and e.direct) as refunds
        into t
      from (select h.amount, h.type, true as direct
            from public.credit_history h where h."relatedBatchId" = it.id
            union all
            select h.amount, h.type, false
            from public.photos p
            join public.credit_history h on h."relatedPhotoId" = p.id
            where p."generationBatchId" = it.id and h."relatedBatchId" is null) e;
      if p_refund = 'all' and t.refunds = 0 and t.charged > 0 then
        v_amount := t.charged;
      elsif not v_mark then
        v_skip := case when t.refunds > 0 then 'already_refunded' else 'nothing_to_refund' end;
      end if;
    end if;
    if v_skip is not null then
      v_skipped := v_skipped + 1;
      v_items := v_items || jsonb_build_object('batch_id', it.id, 'outcome', 'skipped',
                                               'reason', v_skip, 'status', b.status,
                                               'expected_status', it.expected);
      continue;
    end if;
    if v_mark then
      v_marked := v_marked || it.id;
    end if;
    -- The balance moves now (its row is locked); the entry is booked below.
    if v_amount is not null then
      update public.users set credits = coalesce(credits, 0) + v_amount
      where id = b."userId" and coalesce(credits, 0) + v_amount <= 2147483647
      returning coalesce(credits, 0) - v_amount, coalesce(credits, 0) into v_old, v_new;
      if not found then
        select coalesce(credits, 0) into v_old from public.users where id = b."userId";
        perform creditdesk.refuse('balance_overflow',
          format('balance %s cannot take %s: it would exceed the largest balance (2147483647)',
                 v_old, v_amount),
          jsonb_build_object('balance', v_old, 'change', v_amount));
      end if;
      r_batch := r_batch || it.id;
      r_user := r_user || b."userId";
      r_amount := r_amount || v_amount::integer;
      r_description := r_description || case when p_approval is null
        then format('refund for failed batch %s: %s (by %s)', it.id, p_reason, p_actor)
        else format('refund for failed batch %s: %s (by %s, approved by %s)', it.id, p_reason,
                    p_approval->>'requested_by', p_actor) end;
      v_refunded := v_refunded + v_amount;
    else
      select coalesce(credits, 0) into v_old from public.users where id = b."userId";
      v_new := v_old;
    end if;
    v_done := v_done + 1;
    d_batch := d_batch || it.id;
    d_fields := d_fields || jsonb_build_object('user_id', b."userId", 'email', b.email,
                                               'previous_status', b.status, 'marked_failed', v_mark,
                                               'charged', t.charged,
                                               'refunded', coalesce(v_amount, 0),
                                               'old_balance', v_old, 'new_balance', v_new);
  end loop;
  update public.photo_generation_batches set status = 'failed' where id = any(v_marked);
  -- One statement for every refund (the ledger's triggers run once).
  with booked as (
    insert into public.credit_history ("userId", amount, type, description, "relatedBatchId")
    select x.u, x.a, 'refund', x.d, x.b
    from unnest(r_user, r_amount, r_description, r_batch) with ordinality as x(u, a, d, b, n)
    order by x.n
    returning id, "relatedBatchId")
  select coalesce(jsonb_object_agg("relatedBatchId"::text, id), '{}') into v_entries from booked;
  for i in 1 .. coalesce(cardinality(d_batch), 0) loop
    d_fields[i] := d_fields[i] || jsonb_build_object('entry_id', v_entries->(d_batch[i]::text));
    v_items := v_items || (jsonb_build_object('batch_id', d_batch[i], 'outcome', 'done')
                           || d_fields[i]);
  end loop;
  insert into public.admin_audit_log (actor, action, "entityType", "entityId", reason, details)
  select p_actor, 'batch.fail', 'batch', a.id::text, p_reason,
         jsonb_build_object('previous_status', a.f->'previous_status',
                            'marked_failed', a.f->'marked_failed', 'user_id', a.f->'user_id',
                            'charged', a.f->'charged', 'refund', a.f->'refunded',
                            'entry_id', a.f->'entry_id', 'old_balance', a.f->'old_balance',
                            'new_balance', a.f->'new_balance', 'bulk', p_run)
         || coalesce(p_approval, '{}')
  from unnest(d_batch, d_fields) with ordinality as a(id, f, n)
  order by a.n;
  return jsonb_build_object('outcome', 'applied', 'done', v_done, 'skipped', v_skipped,
                            'refunded', v_refunded, 'items', to_jsonb(v_items));
end $$;

-- A chunk of a bulk fail-and-refund (p_run: {"run": id, "selection":
-- how the batches were chosen, "total_refund": what the whole run's preview
-- would refund}). A run whose refunds exceed approval.bulk_refund_credits
-- becomes one pending request (the client then sends it whole); a call
-- that refunds more than the threshold without one is refused.
create or replace function creditdesk.fail_batches(p_items jsonb, p_reason text, p_refund text,
                                                   p_run jsonb, p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  v_reason text;
  v_n integer;
  v_total bigint;
  v_threshold bigint := creditdesk.setting('approval.bulk_refund_credits');
  v_key text;
  v_request creditdesk.approval_requests;
  v_result jsonb;
begin
  perform creditdesk.require('batch.fail');
  v_actor := creditdesk.actor(p_operator);
  v_reason := creditdesk.free_text('reason', p_reason, 500);
  if p_refund is null or p_refund not in ('all', 'none') then
    perform creditdesk.invalid('refund', 'is one of all, none');
  end if;
  if p_items is null or jsonb_typeof(p_items) <> 'array' or jsonb_array_length(p_items) = 0 then
    perform creditdesk.invalid('batches', 'give at least one batch');
  end if;
  v_n := jsonb_array_length(p_items);
  if v_n > 50000 then
    perform creditdesk.invalid('batches', 'at most 50000 batches at once');
  end if;
  -- (CASE: a cast is tried only on what the pattern let through)
  if exists (select 1 from jsonb_array_elements(p_items) e
             where case when jsonb_typeof(e) = 'object'
                             and jsonb_typeof(e->'batch_id') = 'number'
                             and (e->>'batch_id') ~ '^[0-9]{1,10}$'
                        then (e->>'batch_id')::bigint not between 1 and 2147483647
                             or coalesce(e->>'expected_status', 'generating')
                                  not in ('generating', 'failed')
                        else true end) then
    perform creditdesk.invalid('batches',
      'each item is {"batch_id": N, "expected_status": "generating" or "failed"}');
  end if;
  if (select count(distinct e->>'batch_id') from jsonb_array_elements(p_items) e) <> v_n then
    perform creditdesk.invalid('batches', 'a batch is listed twice');
  end if;
  if p_run is not null and jsonb_typeof(p_run) <> 'object' then
    perform creditdesk.invalid('batches', 'the run is described by an object');
  end if;
  v_total := coalesce((p_run->>'total_refund')::bigint, 0);
  if p_refund = 'all' and v_total > v_threshold then
    v_key := 'batch.fail_many:' || md5(p_items::text || p_refund);
    v_request := creditdesk.pending_for_key(v_key);
    if v_request.id is not null then
      return jsonb_build_object('outcome', 'pending', 'request', creditdesk.request_json(v_request));
    end if;
    return creditdesk.request('batch.fail_many',
      jsonb_build_object('items', p_items, 'refund', p_refund, 'run', p_run, 'count', v_n,
                         'total_refund', v_total),
      format('fail %s batch%s and refund them (%s credits in all; %s)', v_n,
             case when v_n = 1 then '' else 'es' end, v_total,
             coalesce(p_run->>'selection', 'listed batches')),
      v_reason, v_actor, v_key);
  end if;
  v_result := creditdesk.fail_batches_now(p_items, v_reason, p_refund, p_run, v_actor, null);
  if (v_result->>'refunded')::bigint > v_threshold then
    perform creditdesk.refuse('bulk_over_threshold',
      format('these batches refund %s credits, more than the %s a bulk refund gives without a second person: nothing was written',
             v_result->>'refunded', v_threshold),
      jsonb_build_object('total', (v_result->>'refunded')::bigint, 'threshold', v_threshold));
  end if;
  return v_result;
end $$;

-- ---------------------------------------------------------------------------
-- Adjusting many balances from a file
-- ---------------------------------------------------------------------------

-- p_rows: [{"line": 2, "user_id": 12, "amount": -20, "reason": null,
-- "key": "..."}, ...] in file order; p_file: {"name", "digest"}. Each row
-- is an adjustment with its idempotency key: booked, or replayed (its key
-- booked it already), or bad (unknown user, a balance that would go below
-- zero, a key used for something else). Any bad row refuses the whole call
-- unless p_skip, which skips it.
create or replace function creditdesk.adjust_many_now(p_rows jsonb, p_reason text, p_file jsonb,
                                                      p_skip boolean, p_actor text,
                                                      p_approval jsonb)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  r record;
  v_entry record;
  v_old bigint;
  v_new bigint;
  v_problem text;
  v_entries jsonb;
  v_rows jsonb[] := '{}';
  v_bad jsonb[] := '{}';
  -- the rows to book, in one statement at the end
  b_line integer[] := '{}';
  b_user integer[] := '{}';
  b_amount integer[] := '{}';
  b_reason text[] := '{}';
  b_description text[] := '{}';
  b_key text[] := '{}';
  b_old bigint[] := '{}';
  b_new bigint[] := '{}';
  b_email text[] := '{}';
  v_email text;
  v_replayed integer := 0;
  v_credited bigint := 0;
  v_debited bigint := 0;
  i integer;
begin
  -- Two runs of one file queue here; the second then replays the first.
  perform pg_advisory_xact_lock(hashtextextended('creditdesk.adjust_many:'
                                                 || coalesce(p_file->>'digest', ''), 0));
  perform 1 from public.users
  where id in (select (e->>'user_id')::int from jsonb_array_elements(p_rows) e)
  order by id
  for update;
  for r in
    select (e->>'line')::int as line, (e->>'user_id')::int as user_id,
           (e->>'amount')::int as amount, nullif(e->>'reason', '') as reason, e->>'key' as key
    from jsonb_array_elements(p_rows) with ordinality as x(e, n)
    order by x.n
  loop
    v_problem := null;
    select h.id, h."userId", h.amount into v_entry
    from public.credit_history h where h."idempotencyKey" = r.key;
    if found then
      if v_entry."userId" <> r.user_id or v_entry.amount <> r.amount then
        v_problem := 'this idempotency key was already used for a different adjustment';
      else
        v_replayed := v_replayed + 1;
        v_rows := v_rows || jsonb_build_object('line', r.line, 'outcome', 'replayed',
                                               'user_id', r.user_id, 'amount', r.amount,
                                               'entry_id', v_entry.id);
        continue;
      end if;
    end if;
    if v_problem is null then
      -- The balance moves now, within the rules (its row is locked); the
      -- entry is booked below.
      update public.users set credits = coalesce(credits, 0) + r.amount
      where id = r.user_id and coalesce(credits, 0) + r.amount between 0 and 2147483647
      returning coalesce(credits, 0) - r.amount, coalesce(credits, 0), coalesce(email, '')
        into v_old, v_new, v_email;
      if not found then
        select coalesce(credits, 0) into v_old from public.users where id = r.user_id;
        if not found then
          v_problem := format('no user matches #%s', r.user_id);
        elsif v_old + r.amount < 0 then
          v_problem := format('balance %s cannot take %s: it would go below zero', v_old, r.amount);
        else
          v_problem := format('balance %s cannot take %s: it would exceed the largest balance (2147483647)',
                              v_old, r.amount);
        end if;
      end if;
    end if;
    if v_problem is not null then
      v_bad := v_bad || jsonb_build_object('line', r.line, 'message', v_problem);
      v_rows := v_rows || jsonb_build_object('line', r.line, 'outcome', 'skipped',
                                             'user_id', r.user_id, 'amount', r.amount,
                                             'message', v_problem);
      continue;
    end if;
    b_line := b_line || r.line;
    b_user := b_user || r.user_id;
    b_amount := b_amount || r.amount;
    b_reason := b_reason || coalesce(r.reason, p_reason);
    b_description := b_description || (coalesce(r.reason, p_reason) || case when p_approval is null
      then ' (by ' || p_actor || ')'
      else ' (by ' || (p_approval->>'requested_by') || ', approved by ' || p_actor || ')' end);
    b_key := b_key || r.key;
    b_old := b_old || v_old;
    b_new := b_new || v_new;
    b_email := b_email || v_email;
    if r.amount > 0 then
      v_credited := v_credited + r.amount;
    else
      v_debited := v_debited - r.amount;
    end if;
  end loop;
  if cardinality(v_bad) > 0 and not p_skip then
    perform creditdesk.refuse('rows_refused',
      format('%s row%s of the file can''t be booked (the first at line %s): nothing was written',
             cardinality(v_bad), case when cardinality(v_bad) = 1 then '' else 's' end,
             v_bad[1]->>'line'),
      jsonb_build_object('count', cardinality(v_bad), 'rows', to_jsonb(v_bad[1:50])));
  end if;
  -- One statement for every entry (the ledger's triggers run once).
  with booked as (
    insert into public.credit_history ("userId", amount, type, description, "idempotencyKey")
    select x.u, x.a, 'admin_adjustment', x.d, x.k
    from unnest(b_user, b_amount, b_description, b_key) with ordinality as x(u, a, d, k, n)
    order by x.n
    returning id, "idempotencyKey")
  select coalesce(jsonb_object_agg("idempotencyKey", id), '{}') into v_entries from booked;
  for i in 1 .. coalesce(cardinality(b_line), 0) loop
    v_rows := v_rows || jsonb_build_object('line', b_line[i], 'outcome', 'booked',
                                           'user_id', b_user[i], 'email', b_email[i],
                                           'amount', b_amount[i],
                                           'entry_id', v_entries->b_key[i],
                                           'old_balance', b_old[i], 'new_balance', b_new[i]);
  end loop;
  insert into public.admin_audit_log (actor, action, "entityType", "entityId", reason, details)
  select p_actor, 'credits.adjust', 'user', x.u::text, x.reason,
         jsonb_build_object('amount', x.a, 'idempotency_key', x.k, 'entry_id', v_entries->x.k,
                            'old_balance', x.o, 'new_balance', x.nb,
                            'bulk', jsonb_build_object('file', p_file->>'name',
                                                       'digest', p_file->>'digest',
                                                       'line', x.l))
         || coalesce(p_approval, '{}')
  from unnest(b_user, b_amount, b_key, b_old, b_new, b_line, b_reason)
         with ordinality as x(u, a, k, o, nb, l, reason, n)
  order by x.n;
  return jsonb_build_object('outcome', 'applied', 'booked', coalesce(cardinality(b_line), 0),
                            'replayed', v_replayed, 'skipped', cardinality(v_bad),
                            'credited', v_credited, 'debited', v_debited,
                            'rows', to_jsonb(v_rows));
end $$;

-- A chunk of a file of adjustments. A call whose credits in and out exceed
-- approval.adjustment_credits becomes one pending request (the client sends
-- a file above the threshold whole), showing the file's name, digest and
-- totals; one file is one request however often it is sent.
create or replace function creditdesk.adjust_many(p_rows jsonb, p_reason text, p_file jsonb,
                                                  p_skip_invalid boolean default false,
                                                  p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  v_reason text;
  v_n integer;
  v_line integer;
  v_credited bigint;
  v_debited bigint;
  v_users integer;
  v_digest text := p_file->>'digest';
  v_key text;
  v_request creditdesk.approval_requests;
begin
  perform creditdesk.require('credits.adjust');
  v_actor := creditdesk.actor(p_operator);
  v_reason := creditdesk.free_text('reason', p_reason, 500);
  if p_rows is null or jsonb_typeof(p_rows) <> 'array' or jsonb_array_length(p_rows) = 0 then
    perform creditdesk.invalid('file', 'has no rows');
  end if;
  v_n := jsonb_array_length(p_rows);
  if v_n > 50000 then
    perform creditdesk.invalid('file', 'at most 50000 rows at once');
  end if;
  if v_digest is null or v_digest !~ '^[0-9a-f]{64}$' then
    perform creditdesk.invalid('file', 'its digest is the SHA-256 of its bytes, in hex');
  end if;
  -- The first malformed row, by its line (0 when it has none). CASE: a
  -- cast is tried only on what the patterns let through.
  select min(case when jsonb_typeof(e->'line') = 'number' and (e->>'line') ~ '^[0-9]{1,9}$'
                  then (e->>'line')::int else 0 end) into v_line
  from jsonb_array_elements(p_rows) e
  where case when jsonb_typeof(e) = 'object'
                  and jsonb_typeof(e->'line') = 'number' and (e->>'line') ~ '^[0-9]{1,9}$'
                  and jsonb_typeof(e->'user_id') = 'number' and (e->>'user_id') ~ '^[0-9]{1,10}$'
                  and jsonb_typeof(e->'amount') = 'number' and (e->>'amount') ~ '^-?[0-9]{1,7}$'
                  and jsonb_typeof(e->'key') = 'string'
                  and coalesce(jsonb_typeof(e->'reason'), 'null') in ('string', 'null')
             then (e->>'user_id')::bigint not between 1 and 2147483647
                  or (e->>'amount')::int = 0 or abs((e->>'amount')::int) > 1000000
                  or length(e->>'key') not between 1 and 200
                  or (e->>'key') ~ '[\x01-\x1f\x7f-\x9f]'
                  or coalesce(length(e->>'reason'), 0) > 500
                  or coalesce(e->>'reason', '') ~ '[\x01-\x1f\x7f-\x9f]'
                  or coalesce(e->>'reason', '') ~ '[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]'
             else true end;
  if v_line is not null then
    perform creditdesk.invalid('file', format('line %s: a row is {"line", "user_id", "amount" '
      || '(a non-zero whole number of credits, at most 1000000 either way), "key" (1 to 200 '
      || 'characters), "reason" (at most 500, optional)}, without control characters', v_line));
  end if;
  if (select count(distinct e->>'key') from jsonb_array_elements(p_rows) e) <> v_n then
    perform creditdesk.invalid('file', 'two rows have the same idempotency key');
  end if;
  select coalesce(sum((e->>'amount')::int) filter (where (e->>'amount')::int > 0), 0),
         coalesce(-sum((e->>'amount')::int) filter (where (e->>'amount')::int < 0), 0),
         count(distinct (e->>'user_id')::int)
    into v_credited, v_debited, v_users
  from jsonb_array_elements(p_rows) e;
  if v_credited + v_debited > creditdesk.setting('approval.adjustment_credits') then
    v_key := 'credits.adjust_many:' || v_digest || ':' || md5(p_rows::text);
    v_request := creditdesk.pending_for_key(v_key);
    if v_request.id is not null then
      return jsonb_build_object('outcome', 'pending', 'request', creditdesk.request_json(v_request));
    end if;
    return creditdesk.request('credits.adjust_many',
      jsonb_build_object('rows', p_rows, 'file', p_file, 'skip_invalid', coalesce(p_skip_invalid, false),
                         'count', v_n, 'users', v_users, 'credited', v_credited,
                         'debited', v_debited),
      format('adjust %s balance%s from %s (%s rows, sha256 %s): +%s / -%s credits', v_users,
             case when v_users = 1 then '' else 's' end,
             coalesce(nullif(p_file->>'name', ''), 'a file'), v_n, v_digest, v_credited, v_debited),
      v_reason, v_actor, v_key);
  end if;
  return creditdesk.adjust_many_now(p_rows, v_reason, p_file, coalesce(p_skip_invalid, false),
                                    v_actor, null);
end $$;

-- ---------------------------------------------------------------------------
-- Reversing an entry
-- ---------------------------------------------------------------------------

-- The action whose right a reversal of an entry of this type needs; null:
-- not reversible here.
create or replace function creditdesk.reverse_action(p_type text)
returns text
language sql immutable
set search_path = pg_catalog, pg_temp
as $$
  select case p_type
    when 'admin_adjustment' then 'credits.adjust'
    when 'refund' then 'batch.fail'
    when 'coupon' then 'coupon.redeem'
    when 'gift_card' then 'gift_card.redeem'
  end
$$;

-- Books the reversal: p_amount is the reversal's signed amount, at most the
-- original's, the other way. A coupon redemption gives the coupon's use
-- back (the user may redeem it again); a gift-card redemption makes the
-- card active again, unless it expired since (then the credits would be
-- lost, so it is refused: a balance adjustment is the tool).
create or replace function creditdesk.reverse_now(p_entry integer, p_amount integer, p_reason text,
                                                  p_actor text, p_approval jsonb)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  e record;
  c public.coupons;
  g public.gift_cards;
  v_by integer;
  v_redemption record;
  v_side jsonb := '{}';
  v_description text;
  v_email text;
  posted jsonb;
begin
  -- Reversals of one entry queue here, then see the first one.
  perform pg_advisory_xact_lock(hashtextextended('creditdesk.reverse:' || p_entry, 0));
  select * into e from public.credit_history where id = p_entry;
  if not found then
    perform creditdesk.refuse('not_found', format('no ledger entry matches #%s', p_entry),
      jsonb_build_object('what', 'ledger entry', 'key', '#' || p_entry));
  end if;
  select id into v_by from public.credit_history where "reversesEntryId" = p_entry;
  if found then
    perform creditdesk.refuse('entry_already_reversed',
      format('entry %s was already reversed by entry %s', p_entry, v_by),
      jsonb_build_object('entry', p_entry, 'by', v_by));
  end if;
  if p_amount = 0 or sign(p_amount) = sign(e.amount) or abs(p_amount) > abs(e.amount) then
    perform creditdesk.refuse('reversal_exceeds_original',
      format('a reversal of entry %s is at most %s credits, the other way', p_entry, -e.amount),
      jsonb_build_object('entry', p_entry, 'original', e.amount, 'requested', p_amount));
  end if;
  if e.type = 'coupon' then
    if e."relatedCouponId" is null then
      perform creditdesk.refuse('entry_not_reversible',
        format('entry %s names no coupon: give the credits back with an adjustment', p_entry),
        jsonb_build_object('type', 'coupon'));
    end if;
    c := creditdesk.lock_coupon(e."relatedCouponId");
    delete from public.coupon_redemptions
    where "couponId" = c.id and "userId" = e."userId"
    returning id, "redeemedAt" into v_redemption;
    if v_redemption.id is not null then
      update public.coupons set "usedCount" = greatest("usedCount" - 1, 0) where id = c.id;
    end if;
    v_side := jsonb_build_object('coupon_id', c.id, 'code', c.code,
                                 'redemption_id', v_redemption.id,
                                 'use_given_back', v_redemption.id is not null);
  elsif e.type = 'gift_card' then
    if e."relatedGiftCardId" is null then
      perform creditdesk.refuse('entry_not_reversible',
        format('entry %s names no gift card: give the credits back with an adjustment', p_entry),
        jsonb_build_object('type', 'gift_card'));
    end if;
    g := creditdesk.lock_gift_card(e."relatedGiftCardId");
    if g.status <> 'redeemed' or g."redeemedByUserId" is distinct from e."userId" then
      perform creditdesk.refuse('gift_card_not_reactivatable',
        format('the gift card is %s and not redeemed by this user now: it can''t be made active again',
               g.status),
        jsonb_build_object('status', g.status::text));
    end if;
    if g."expiresAt" is not null and g."expiresAt" <= now() then
      perform creditdesk.refuse('gift_card_not_reactivatable',
        format('the gift card expired at %s: active again it could not be redeemed, so its credits would be lost; take them back with an adjustment instead',
               to_char(g."expiresAt" at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"')),
        jsonb_build_object('status', 'expired', 'expires_at', g."expiresAt"));
    end if;
    update public.gift_cards set status = 'active', "redeemedByUserId" = null, "redeemedAt" = null
    where id = g.id;
    v_side := jsonb_build_object('gift_card_id', g.id, 'code_masked', creditdesk.mask_code(g.code),
                                 'card_status', 'active');
  end if;
  v_description := case when p_approval is null
    then format('reversal of entry %s: %s (by %s)', p_entry, p_reason, p_actor)
    else format('reversal of entry %s: %s (by %s, approved by %s)', p_entry, p_reason,
                p_approval->>'requested_by', p_actor) end;
  begin
    -- A refund's reversal is not linked to the batch: the batch keeps one
    -- refund entry (credit_history_one_refund_per_batch); the link to the
    -- batch goes through the entry it reverses.
    posted := creditdesk.post_entry(e."userId", p_amount, e.type, v_description,
                                    case when e.type = 'gift_card' then e."relatedGiftCardId" end,
                                    case when e.type = 'coupon' then e."relatedCouponId" end,
                                    null, null, p_entry);
  exception when unique_violation then
    perform creditdesk.refuse('entry_already_reversed',
      format('entry %s was already reversed', p_entry),
      jsonb_build_object('entry', p_entry));
  end;
  select email into v_email from public.users where id = e."userId";
  perform creditdesk.audit(p_actor, 'credits.reverse', 'ledger_entry', p_entry::text, p_reason,
    jsonb_build_object('user_id', e."userId", 'type', e.type, 'original_amount', e.amount,
                       'original_created_at', e."createdAt", 'amount', p_amount,
                       'reversal_entry_id', posted->'entry_id')
    || posted || v_side || coalesce(p_approval, '{}'));
  return jsonb_build_object('outcome', 'applied', 'entry_id', p_entry,
                            'reversal_entry_id', (posted->>'entry_id')::int,
                            'user_id', e."userId", 'email', coalesce(v_email, ''),
                            'type', e.type, 'original_amount', e.amount, 'amount', p_amount,
                            'old_balance', (posted->>'old_balance')::bigint,
                            'new_balance', (posted->>'new_balance')::bigint)
         || v_side;
end $$;

-- Reverses a ledger entry once: admin adjustments (and partly, with
-- p_amount, at most the original), batch refunds, coupon and gift-card
-- redemptions. Needs the right to book the original (reverse_action);
-- above approval.adjustment_credits it waits for a second person.
create or replace function creditdesk.reverse_entry(p_entry integer, p_reason text,
                                                    p_amount integer default null,
                                                    p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  v_reason text;
  e record;
  v_by integer;
  v_action text;
  v_amount integer;
  v_balance bigint;
  v_request creditdesk.approval_requests;
begin
  perform creditdesk.require('credits.reverse');
  v_actor := creditdesk.actor(p_operator);
  v_reason := creditdesk.free_text('reason', p_reason, 500);
  select * into e from public.credit_history where id = p_entry;
  if not found then
    perform creditdesk.refuse('not_found', format('no ledger entry matches #%s', p_entry),
      jsonb_build_object('what', 'ledger entry', 'key', '#' || p_entry));
  end if;
  if e."reversesEntryId" is not null then
    perform creditdesk.refuse('entry_not_reversible',
      format('entry %s is itself the reversal of entry %s: book an adjustment instead', p_entry,
             e."reversesEntryId"),
      jsonb_build_object('type', 'reversal'));
  end if;
  v_action := creditdesk.reverse_action(e.type::text);
  if v_action is null then
    perform creditdesk.refuse('entry_not_reversible',
      case e.type::text
        when 'purchase' then 'a purchase is refunded through the payment system, not reversed in the ledger'
        when 'generation' then 'a generation charge is given back by failing and refunding its batch (batches fail)'
        else format('a %s entry is given back with a balance adjustment', e.type) end,
      jsonb_build_object('type', e.type::text));
  end if;
  perform creditdesk.require(v_action);
  select id into v_by from public.credit_history where "reversesEntryId" = p_entry;
  if found then
    perform creditdesk.refuse('entry_already_reversed',
      format('entry %s was already reversed by entry %s', p_entry, v_by),
      jsonb_build_object('entry', p_entry, 'by', v_by));
  end if;
  if p_amount is null then
    v_amount := -e.amount;
  elsif e.type::text not in ('admin_adjustment', 'refund') then
    perform creditdesk.invalid('amount', 'a coupon or gift card redemption is reversed whole');
  elsif p_amount < 1 or p_amount > abs(e.amount) then
    perform creditdesk.refuse('reversal_exceeds_original',
      format('a reversal of entry %s is at most %s credits, the other way', p_entry, -e.amount),
      jsonb_build_object('entry', p_entry, 'original', e.amount, 'requested', p_amount));
  else
    v_amount := -sign(e.amount)::int * p_amount;
  end if;
  if abs(v_amount) > creditdesk.setting('approval.adjustment_credits') then
    select coalesce(credits, 0) into v_balance from public.users where id = e."userId";
    if v_balance + v_amount < 0 then
      perform creditdesk.refuse('insufficient_credits',
        format('balance %s cannot take %s: it would go below zero', v_balance, v_amount),
        jsonb_build_object('balance', v_balance, 'change', v_amount));
    end if;
    select * into v_request from creditdesk.approval_requests
    where kind = 'credits.reverse' and status = 'pending' and now() < "expiresAt"
      and (payload->>'entry_id')::int = p_entry
    order by id limit 1;
    if found then
      return jsonb_build_object('outcome', 'pending', 'request', creditdesk.request_json(v_request));
    end if;
    return creditdesk.request('credits.reverse',
      jsonb_build_object('entry_id', p_entry, 'amount', v_amount, 'user_id', e."userId",
                         'type', e.type::text, 'original_amount', e.amount),
      format('reverse entry #%s (%s %s%s credits) of user #%s: %s%s credits', p_entry, e.type,
             case when e.amount > 0 then '+' else '' end, e.amount, e."userId",
             case when v_amount > 0 then '+' else '' end, v_amount),
      v_reason, v_actor, null);
  end if;
  return creditdesk.reverse_now(p_entry, v_amount, v_reason, v_actor, null);
end $$;

-- ---------------------------------------------------------------------------
-- Gift-card issues that can be retried
-- ---------------------------------------------------------------------------

-- An issue made with an idempotency key: what was asked and which cards it
-- made (never their codes).
create table if not exists creditdesk.gift_card_issues (
  key text primary key,
  params jsonb not null,
  "cardIds" integer[] not null,
  "issuedAt" timestamptz not null default now(),
  "issuedBy" text not null,
  "issuedByLogin" text not null
);

-- What the key's issue made, codes masked: the answer to a retry.
create or replace function creditdesk.issue_replay(p_key text)
returns jsonb
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select jsonb_build_object(
    'outcome', 'applied', 'replayed', true, 'idempotency_key', i.key,
    'issued_at', i."issuedAt", 'issued_by', i."issuedBy",
    'credits', (i.params->>'credits')::int, 'price', i.params->>'price',
    'credit_pack_id', (i.params->>'credit_pack_id')::int,
    'recipient_email', i.params->>'recipient', 'expires_at', min(g."expiresAt"),
    'cards', coalesce(jsonb_agg(jsonb_build_object('id', g.id, 'code_masked',
                                                   creditdesk.mask_code(g.code),
                                                   'status', g.status, 'created_at', g."createdAt")
                                order by g.id) filter (where g.id is not null), '[]'))
  from creditdesk.gift_card_issues i
  left join public.gift_cards g on g.id = any(i."cardIds")
  where i.key = p_key
  group by i.key, i."issuedAt", i."issuedBy", i.params
$$;

-- Issues as issue_now does and records the key with the cards it made.
create or replace function creditdesk.issue_keyed(
  p_count integer, p_pack integer, p_credits integer, p_price numeric, p_recipient text,
  p_expires_at timestamptz, p_reason text, p_actor text, p_approval jsonb, p_key text,
  p_params jsonb)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_result jsonb;
begin
  -- (the key goes into the audit row's details with the approval, if any)
  v_result := creditdesk.issue_now(p_count, p_pack, p_credits, p_price, p_recipient, p_expires_at,
                                   p_reason, p_actor,
                                   coalesce(p_approval, '{}') || jsonb_build_object('idempotency_key', p_key));
  insert into creditdesk.gift_card_issues (key, params, "cardIds", "issuedBy", "issuedByLogin")
  values (p_key, p_params,
          array(select (c->>'id')::int from jsonb_array_elements(v_result->'cards') c order by 1),
          p_actor, session_user);
  return v_result || jsonb_build_object('replayed', false, 'idempotency_key', p_key);
end $$;

-- issue_gift_cards with an idempotency key: a retry with the key issues
-- nothing new and answers with the cards the first call made (codes masked;
-- creditdesk.reveal_issued_gift_cards shows them again, audited). The same
-- key for a different issue (count, value or recipient) is refused; the
-- expiry is the first call's (a retried "365 days from now" is the same
-- issue). Above the threshold the key names the one pending request.
create or replace function creditdesk.issue_gift_cards(
  p_count integer, p_pack text, p_credits integer, p_price numeric, p_recipient text,
  p_expires_at timestamptz, p_reason text, p_operator text, p_idempotency_key text)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  v_reason text;
  v_key text;
  v_recipient text := lower(btrim(p_recipient));
  v_pack public.credit_packs;
  v_credits integer := p_credits;
  v_price numeric := p_price;
  v_total bigint;
  v_params jsonb;
  v_issue creditdesk.gift_card_issues;
  v_request creditdesk.approval_requests;
begin
  perform creditdesk.require('gift_card.issue');
  v_actor := creditdesk.actor(p_operator);
  v_reason := creditdesk.free_text('reason', p_reason, 500, true);
  v_key := creditdesk.free_text('idempotency-key', p_idempotency_key, 200, true);
  if p_count is null or p_count < 1 or p_count > 10000 then
    perform creditdesk.invalid('count', 'must be between 1 and 10000');
  end if;
  if v_recipient = '' then
    v_recipient := null;
  end if;
  if v_recipient is not null and (v_recipient !~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+$'
                                  or length(v_recipient) > 254) then
    perform creditdesk.invalid('recipient', 'an email looks like name@example.com');
  end if;
  if p_pack is not null then
    select * into v_pack from public.credit_packs
    where lower(btrim(name)) = lower(btrim(p_pack))
    order by "isActive" desc, id limit 1;
  end if;
  if v_key is not null then
    -- Calls with one key queue here until the first commits, then see it.
    perform pg_advisory_xact_lock(hashtextextended('creditdesk.gift_card_issue:' || v_key, 0));
    v_params := jsonb_build_object('count', p_count,
                                   'credit_pack_id', v_pack.id,
                                   'credits', coalesce(v_pack.credits, p_credits),
                                   'price', coalesce(v_pack.price, p_price)::text,
                                   'recipient', v_recipient);
    select * into v_issue from creditdesk.gift_card_issues where key = v_key;
    if found then
      if v_issue.params - 'expires_at' <> v_params then
        perform creditdesk.refuse('idempotency_key_reused',
          'this idempotency key was already used for a different request');
      end if;
      return creditdesk.issue_replay(v_key);
    end if;
    select * into v_request from creditdesk.approval_requests where "idempotencyKey" = v_key;
    if found and (v_request.kind <> 'gift_card.issue'
                  or v_request.payload - 'expires_at' - 'idempotency_key' <> v_params) then
      perform creditdesk.refuse('idempotency_key_reused',
        'this idempotency key was already used for a different request');
    end if;
    v_request := creditdesk.pending_for_key(v_key);
    if v_request.id is not null then
      return jsonb_build_object('outcome', 'pending', 'request', creditdesk.request_json(v_request));
    end if;
  end if;
  if p_expires_at is not null and p_expires_at <= now() then
    perform creditdesk.invalid('expires-at', 'must be in the future');
  end if;
  if p_pack is not null then
    if v_pack.id is null or not v_pack."isActive" then
      perform creditdesk.refuse('credit_pack_unavailable',
        case when v_pack.id is null then format('no credit pack is named %s', btrim(p_pack))
             else format('the credit pack %s is inactive', v_pack.name) end,
        jsonb_build_object('name', coalesce(v_pack.name, btrim(p_pack)),
                           'inactive', v_pack.id is not null,
                           'active', (select coalesce(jsonb_agg(name order by price, credits, id), '[]')
                                      from public.credit_packs where "isActive")));
    end if;
    v_credits := v_pack.credits;
    v_price := v_pack.price;
  else
    if v_credits is null or v_credits < 1 or v_credits > 1000000 then
      perform creditdesk.invalid('credits', 'must be between 1 and 1000000');
    end if;
    if v_price is null or v_price < 0 then
      perform creditdesk.invalid('price', 'must not be negative');
    end if;
    if v_price <> round(v_price, 2) then
      perform creditdesk.invalid('price', 'must have at most 2 decimal places');
    end if;
  end if;
  v_total := p_count::bigint * v_credits;
  if v_total > creditdesk.setting('approval.gift_card_issue_credits') then
    return creditdesk.request('gift_card.issue',
      jsonb_build_object('count', p_count, 'credit_pack_id', v_pack.id, 'credits', v_credits,
                         'price', v_price::text, 'recipient', v_recipient,
                         'expires_at', p_expires_at, 'idempotency_key', v_key),
      format('issue %s gift card%s of %s credits (%s credits in all)', p_count,
             case when p_count = 1 then '' else 's' end, v_credits, v_total),
      coalesce(v_reason, 'gift card issue'), v_actor, v_key);
  end if;
  if v_key is null then
    return creditdesk.issue_now(p_count, v_pack.id, v_credits, v_price, v_recipient, p_expires_at,
                                v_reason, v_actor, null);
  end if;
  return creditdesk.issue_keyed(p_count, v_pack.id, v_credits, v_price, v_recipient, p_expires_at,
                                v_reason, v_actor, null, v_key,
                                v_params || jsonb_build_object('expires_at', p_expires_at));
end $$;

-- The codes of the cards a keyed issue made, shown again: a reveal, with
-- its audit row (one for the issue, listing the cards) written first.
create or replace function creditdesk.reveal_issued_gift_cards(p_key text,
                                                               p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  i creditdesk.gift_card_issues;
  v_first integer;
  v_last integer;
begin
  perform creditdesk.require('gift_card.reveal');
  v_actor := creditdesk.actor(p_operator);
  select * into i from creditdesk.gift_card_issues where key = p_key;
  if not found then
    perform creditdesk.refuse('not_found',
      'no gift card issue was made with this idempotency key',
      jsonb_build_object('what', 'gift card issue', 'key', left(coalesce(p_key, ''), 200)));
  end if;
  v_first := (select min(x) from unnest(i."cardIds") x);
  v_last := (select max(x) from unnest(i."cardIds") x);
  perform creditdesk.audit(v_actor, 'gift_card.reveal', 'gift_card',
    case when v_first = v_last then v_first::text else v_first || '..' || v_last end, null,
    jsonb_build_object('count', cardinality(i."cardIds"), 'ids', to_jsonb(i."cardIds"),
                       'idempotency_key', i.key, 'issued_at', i."issuedAt",
                       'why', 'the codes of an issue shown again, after a retry'));
  return jsonb_build_object(
    'cards', (select coalesce(jsonb_agg(jsonb_build_object('id', g.id, 'code', g.code,
                                                           'created_at', g."createdAt")
                                        order by g.id), '[]')
              from public.gift_cards g where g.id = any(i."cardIds")),
    'credits', (i.params->>'credits')::int, 'price', i.params->>'price',
    'credit_pack_id', (i.params->>'credit_pack_id')::int,
    'recipient_email', i.params->>'recipient',
    'expires_at', (select min("expiresAt") from public.gift_cards where id = any(i."cardIds")));
end $$;

-- ---------------------------------------------------------------------------
-- Approving: the new kinds run as asked, checked against the state now
-- ---------------------------------------------------------------------------

create or replace function creditdesk.approve_request(p_request bigint, p_reason text default null,
                                                      p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  v_reason text;
  r creditdesk.approval_requests;
  v_approval jsonb;
  v_result jsonb;
begin
  perform creditdesk.require('approval.decide');
  v_actor := creditdesk.actor(p_operator);
  v_reason := creditdesk.free_text('reason', p_reason, 500, true);
  r := creditdesk.lock_request(p_request);
  v_approval := jsonb_build_object('approval_request', r.id, 'requested_by', r."requestedBy",
                                   'requested_by_login', r."requestedByLogin",
                                   'approved_by', v_actor, 'approved_by_login', session_user);
  if r.kind = 'credits.adjust' then
    v_result := creditdesk.adjust_now((r.payload->>'user_id')::int, (r.payload->>'amount')::int,
                                      r.reason, r.payload->>'idempotency_key', v_actor, v_approval);
  elsif r.kind = 'gift_card.issue' and r.payload->>'idempotency_key' is not null then
    v_result := creditdesk.issue_keyed((r.payload->>'count')::int,
                                       (r.payload->>'credit_pack_id')::int,
                                       (r.payload->>'credits')::int,
                                       (r.payload->>'price')::numeric,
                                       r.payload->>'recipient',
                                       (r.payload->>'expires_at')::timestamptz,
                                       r.reason, v_actor, v_approval,
                                       r.payload->>'idempotency_key',
                                       r.payload - 'idempotency_key');
  elsif r.kind = 'gift_card.issue' then
    v_result := creditdesk.issue_now((r.payload->>'count')::int,
                                     (r.payload->>'credit_pack_id')::int,
                                     (r.payload->>'credits')::int,
                                     (r.payload->>'price')::numeric,
                                     r.payload->>'recipient',
                                     (r.payload->>'expires_at')::timestamptz,
                                     r.reason, v_actor, v_approval);
  elsif r.kind = 'credits.adjust_many' then
    v_result := creditdesk.adjust_many_now(r.payload->'rows', r.reason, r.payload->'file',
                                           coalesce((r.payload->>'skip_invalid')::boolean, false),
                                           v_actor, v_approval);
  elsif r.kind = 'batch.fail_many' then
    v_result := creditdesk.fail_batches_now(r.payload->'items', r.reason, r.payload->>'refund',
                                            r.payload->'run', v_actor, v_approval);
  elsif r.kind = 'credits.reverse' then
    v_result := creditdesk.reverse_now((r.payload->>'entry_id')::int, (r.payload->>'amount')::int,
                                       r.reason, v_actor, v_approval);
  else
    raise exception 'request #% is of a kind this creditdesk cannot approve: %', r.id, r.kind;
  end if;
  update creditdesk.approval_requests
  set status = 'approved', "decidedByLogin" = session_user, "decidedBy" = v_actor,
      "decidedAt" = now(), "decisionReason" = v_reason,
      result = v_result - 'cards' - 'rows' - 'items'
  where id = r.id;
  perform creditdesk.audit(v_actor, 'approval.approve', 'approval_request', r.id::text, v_reason,
    jsonb_build_object('kind', r.kind, 'summary', r.summary) || v_approval);
  return jsonb_build_object('request', creditdesk.request_json(r), 'result', v_result);
end $$;

-- ---------------------------------------------------------------------------
-- Privileges (and, on every `creditdesk migrate`, the ledgers grown heavy
-- since the last one start being tracked: creditdesk.ledger_track_heavy)
-- ---------------------------------------------------------------------------

create or replace function creditdesk.grant_privileges()
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  g text;
  v regclass;
  f record;
begin
  perform creditdesk.secure();
  foreach g in array creditdesk.group_names() loop
    continue when to_regrole(g) is null;
    execute format('grant usage on schema creditdesk to %I', g);
    for v in select c.oid::regclass from pg_class c
             where c.relnamespace = 'creditdesk'::regnamespace and c.relkind = 'v' loop
      execute format('grant select on %s to %I', v, g);
    end loop;
    for f in select * from (values
        ('creditdesk.whoami()', null),
        ('creditdesk.find_gift_card(text[])', null),
        -- called by the creditdesk.gift_cards view, as the one who reads it
        ('creditdesk.mask_code(text)', null),
        ('creditdesk.ledger_balance_before(integer, timestamptz, integer)', null),
        ('creditdesk.adjust_credits(integer, integer, text, text, text)', 'credits.adjust'),
        ('creditdesk.adjust_many(jsonb, text, jsonb, boolean, text)', 'credits.adjust'),
        ('creditdesk.reverse_entry(integer, text, integer, text)', 'credits.reverse'),
        ('creditdesk.create_coupon(text, text, text, numeric, integer, timestamptz, timestamptz, boolean, text)', 'coupon.create'),
        ('creditdesk.deactivate_coupon(integer, text, text)', 'coupon.deactivate'),
        ('creditdesk.redeem_coupon(integer, integer, text)', 'coupon.redeem'),
        ('creditdesk.issue_gift_cards(integer, text, integer, numeric, text, timestamptz, text, text)', 'gift_card.issue'),
        ('creditdesk.issue_gift_cards(integer, text, integer, numeric, text, timestamptz, text, text, text)', 'gift_card.issue'),
        ('creditdesk.revoke_gift_card(integer, text, text)', 'gift_card.revoke'),
        ('creditdesk.redeem_gift_card(integer, integer, text)', 'gift_card.redeem'),
        ('creditdesk.reveal_gift_card(integer, text)', 'gift_card.reveal'),
        ('creditdesk.reveal_issued_gift_cards(text, text)', 'gift_card.reveal'),
        ('creditdesk.fail_batch(integer, text, text, integer, text)', 'batch.fail'),
        ('creditdesk.fail_batches(jsonb, text, text, jsonb, text)', 'batch.fail'),
        ('creditdesk.approve_request(bigint, text, text)', 'approval.decide'),
        ('creditdesk.reject_request(bigint, text, text)', 'approval.decide'),
        ('creditdesk.set_setting(text, bigint, text, text)', 'settings.change'),
        ('creditdesk.add_operator(text, text, text, text)', 'operators.manage'),
        ('creditdesk.set_operator_role(text, text, text, text)', 'operators.manage'),
        ('creditdesk.disable_operator(text, text, text)', 'operators.manage')
      ) as t(fn, action) loop
      if f.action is null or g = any(creditdesk.allowed_groups(f.action)) then
        execute format('grant execute on function %s to %I', f.fn, g);
      else
        execute format('revoke execute on function %s from %I', f.fn, g);
      end if;
    end loop;
  end loop;
  perform creditdesk.ledger_track_heavy();
end $$;

select creditdesk.grant_privileges();
