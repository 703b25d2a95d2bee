-- The sanctioned operations (security.md §2): one SECURITY DEFINER function
-- per action, owned by the schema's owner, with a pinned search_path and
-- every name schema-qualified. Each checks the login's group, applies the
-- rule under row locks, writes the ledger entry and the audit row in the
-- caller's transaction, and refuses with a stable SQLSTATE:
--   CD001  a rule refused the action; DETAIL is JSON {"refusal": kind, ...}
--   CD002  malformed input; DETAIL is JSON {"field": ..., "message": ...}
-- Operators have no privilege on the tables: these functions are the only
-- way their changes reach balances, the ledger and the audit log.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

-- ---------------------------------------------------------------------------
-- Refusals, identity and permissions
-- ---------------------------------------------------------------------------
-- (The helpers on every change's path are PL/pgSQL, whose plans a session
-- keeps; a SQL function called from PL/pgSQL is planned again each call.)

create or replace function creditdesk.refuse(p_kind text, p_message text, p_detail jsonb default '{}')
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception using errcode = 'CD001', message = p_message,
    detail = (jsonb_build_object('refusal', p_kind) || coalesce(p_detail, '{}'))::text;
end $$;

create or replace function creditdesk.invalid(p_field text, p_message text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception using errcode = 'CD002', message = p_field || ': ' || p_message,
    detail = jsonb_build_object('field', p_field, 'message', p_message)::text;
end $$;

-- The login owns the tool: a superuser, or the creditdesk schema's owner
-- (or a member of it). It can change everything directly anyway, so the
-- functions let it; it is a shared login.
create or replace function creditdesk.is_owner()
returns boolean
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return coalesce((select rolsuper from pg_roles where rolname = session_user), false)
      or pg_has_role(session_user,
                     (select nspowner from pg_namespace where nspname = 'creditdesk'), 'USAGE');
end $$;

create or replace function creditdesk.group_names()
returns text[]
language sql immutable
set search_path = pg_catalog, pg_temp
as $$
  select array['creditdesk_auditor', 'creditdesk_support', 'creditdesk_finance',
               'creditdesk_oncall', 'creditdesk_admin']
$$;

-- The creditdesk groups whose privileges the connected login has.
create or replace function creditdesk.login_groups()
returns text[]
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return (select coalesce(array_agg(g order by g), '{}')
          from unnest(creditdesk.group_names()) g
          where to_regrole(g) is not null and pg_has_role(session_user, g, 'USAGE'));
end $$;

-- The permission table of security.md §2: which groups may do an action.
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
    else p_action
  end
$$;

-- `support`, `finance+oncall`, or `none`.
create or replace function creditdesk.role_label()
returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(nullif(array_to_string(array(
           select replace(g, 'creditdesk_', '') from unnest(creditdesk.login_groups()) g
           order by array_position(creditdesk.group_names(), g)), '+'), ''), 'none')
$$;

create or replace function creditdesk.require(p_action text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if creditdesk.is_owner() or creditdesk.allowed_groups(p_action) && creditdesk.login_groups() then
    return;
  end if;
  perform creditdesk.refuse('not_permitted',
    format('your role (%s) may not %s', creditdesk.role_label(),
           creditdesk.action_description(p_action)),
    jsonb_build_object('role', creditdesk.role_label(), 'action', p_action));
end $$;

-- The operator name to record: the one given (a shared login says who is
-- behind it), else the login itself. ASCII letters, digits and . _ @ - only,
-- so look-alike and invisible characters can't impersonate anyone.
create or replace function creditdesk.actor(p_operator text)
returns text
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_operator is null or btrim(p_operator) = '' then
    return session_user;
  end if;
  if btrim(p_operator) !~ '^[A-Za-z0-9._@-]{1,63}$' then
    perform creditdesk.invalid('operator',
      'an operator name is 1 to 63 ASCII letters, digits and . _ @ -');
  end if;
  return btrim(p_operator);
end $$;

-- Free text from an operator: trimmed, no control or text-direction
-- characters, at most p_max characters; required unless p_optional.
create or replace function creditdesk.free_text(p_field text, p_text text, p_max integer,
                                                p_optional boolean default false)
returns text
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
declare
  t text := btrim(p_text, E' \t\n\r');
begin
  if t is null or t = '' then
    if p_optional then
      return null;
    end if;
    perform creditdesk.invalid(p_field, case p_field when 'reason' then 'a reason is required'
                                                     else 'is required' end);
  end if;
  if t ~ '[\x01-\x1f\x7f-\x9f]' then
    perform creditdesk.invalid(p_field, 'contains control characters');
  end if;
  if t ~ '[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]' then
    perform creditdesk.invalid(p_field, 'contains invisible text-direction characters');
  end if;
  if length(t) > p_max then
    perform creditdesk.invalid(p_field, format('must be at most %s characters', p_max));
  end if;
  return t;
end $$;

create or replace function creditdesk.setting(p_key text)
returns bigint
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return (select value from creditdesk.settings where key = p_key);
end $$;

-- ---------------------------------------------------------------------------
-- The ledger and the audit log: the one way credits move
-- ---------------------------------------------------------------------------

-- Locks the user's row for the rest of the transaction; returns the balance.
create or replace function creditdesk.lock_balance(p_user integer)
returns bigint
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v bigint;
begin
  begin
    select coalesce(credits, 0) into v from public.users where id = p_user for update;
  exception when lock_not_available then
    perform creditdesk.refuse('busy',
      format('user #%s is being changed by another session; nothing was written', p_user),
      jsonb_build_object('what', 'user', 'key', p_user::text));
  end;
  if v is null then
    perform creditdesk.refuse('not_found', format('no user matches #%s', p_user),
      jsonb_build_object('what', 'user', 'key', '#' || p_user));
  end if;
  return v;
end $$;

-- Books an entry and moves the balance, under the user's row lock (kept
-- until commit, so changes to one balance queue up). The balance never goes
-- below zero nor past the largest integer, whatever the app's table allows.
create or replace function creditdesk.post(
  p_user integer, p_amount integer, p_type public.credit_history_type, p_description text,
  p_gift_card integer default null, p_coupon integer default null, p_batch integer default null,
  p_idempotency_key text default null)
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
                                     "relatedCouponId", "relatedBatchId", "idempotencyKey")
  values (p_user, p_amount, p_type, p_description, p_gift_card, p_coupon, p_batch,
          p_idempotency_key)
  returning id into v_entry;
  return jsonb_build_object('entry_id', v_entry, 'old_balance', v_old, 'new_balance', v_new);
end $$;

-- Appends the audit row; the database fills in the login, the sequence
-- number, the time and the hashes. Always the last write of an action, so
-- the chain's head is held only until commit.
create or replace function creditdesk.audit(p_actor text, p_action text, p_entity_type text,
                                            p_entity_id text, p_reason text, p_details jsonb)
returns bigint
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_id bigint;
begin
  insert into public.admin_audit_log (actor, action, "entityType", "entityId", reason, details)
  values (p_actor, p_action, p_entity_type, p_entity_id, p_reason, coalesce(p_details, '{}'))
  returning id into v_id;
  return v_id;
end $$;

-- ---------------------------------------------------------------------------
-- Approvals
-- ---------------------------------------------------------------------------

create or replace function creditdesk.request_json(r creditdesk.approval_requests)
returns jsonb
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select jsonb_build_object('id', r.id, 'kind', r.kind, 'summary', r.summary,
                            'requested_at', r."requestedAt", 'expires_at', r."expiresAt")
$$;

-- Stores a change above its threshold as a pending request; nothing moves.
create or replace function creditdesk.request(p_kind text, p_payload jsonb, p_summary text,
                                              p_reason text, p_actor text, p_key text)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  r creditdesk.approval_requests;
begin
  insert into creditdesk.approval_requests (kind, payload, summary, reason, "requestedByLogin",
                                            "requestedBy", "expiresAt", "idempotencyKey")
  values (p_kind, p_payload, p_summary, p_reason, session_user, p_actor,
          now() + make_interval(hours => creditdesk.setting('approval.expires_after_hours')::int),
          p_key)
  returning * into r;
  perform creditdesk.audit(p_actor, 'approval.request', 'approval_request', r.id::text, p_reason,
    jsonb_build_object('kind', p_kind, 'summary', p_summary, 'payload', p_payload,
                       'expires_at', r."expiresAt"));
  return jsonb_build_object('outcome', 'pending', 'request', creditdesk.request_json(r));
end $$;

-- ---------------------------------------------------------------------------
-- Balance adjustments
-- ---------------------------------------------------------------------------

create or replace function creditdesk.adjust_now(p_user integer, p_amount integer, p_reason text,
                                                 p_key text, p_actor text, p_approval jsonb)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  posted jsonb;
  v_email text;
  v_description text := p_reason || ' (by ' || p_actor || ')';
begin
  if p_approval is not null then
    v_description := p_reason || ' (by ' || (p_approval->>'requested_by') || ', approved by '
                     || p_actor || ')';
  end if;
  posted := creditdesk.post(p_user, p_amount, 'admin_adjustment', v_description,
                            p_idempotency_key => p_key);
  select email into v_email from public.users where id = p_user;
  perform creditdesk.audit(p_actor, 'credits.adjust', 'user', p_user::text, p_reason,
    jsonb_build_object('amount', p_amount, 'idempotency_key', p_key) || posted
    || coalesce(p_approval, '{}'));
  return jsonb_build_object('outcome', 'applied', 'user_id', p_user, 'email', v_email,
                            'amount', p_amount, 'replayed', false) || posted;
end $$;

-- A signed admin_adjustment with its reason. Above the approval threshold
-- (either way) it becomes a pending request. With an idempotency key,
-- repeating the call books nothing new and answers as the first call did.
create or replace function creditdesk.adjust_credits(p_user integer, p_amount integer,
                                                     p_reason text,
                                                     p_idempotency_key text default null,
                                                     p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  v_reason text;
  v_key text;
  v_entry record;
  v_request creditdesk.approval_requests;
  v_balance bigint;
begin
  perform creditdesk.require('credits.adjust');
  v_actor := creditdesk.actor(p_operator);
  v_reason := creditdesk.free_text('reason', p_reason, 500);
  if p_amount is null or p_amount = 0 then
    perform creditdesk.invalid('amount', 'must not be zero');
  end if;
  if abs(p_amount) > 1000000 then
    perform creditdesk.invalid('amount', 'at most 1000000 credits at once');
  end if;
  v_key := creditdesk.free_text('idempotency-key', p_idempotency_key, 200, true);
  if v_key is not null then
    -- Calls with one key queue here until the first commits or rolls back,
    -- then see what it did. (A transaction-scoped lock: nothing outlives it
    -- on a pooled connection.)
    perform pg_advisory_xact_lock(hashtextextended('creditdesk.adjust:' || v_key, 0));
    select h.id, h."userId", h.amount into v_entry
    from public.credit_history h where h."idempotencyKey" = v_key;
    if found then
      if v_entry."userId" <> p_user or v_entry.amount <> p_amount then
        perform creditdesk.refuse('idempotency_key_reused',
          'this idempotency key was already used for a different request');
      end if;
      return (select jsonb_build_object('outcome', 'applied', 'user_id', v_entry."userId",
                                        'email', u.email, 'amount', v_entry.amount,
                                        'entry_id', v_entry.id, 'replayed', true,
                                        'old_balance', (a.details->>'old_balance')::bigint,
                                        'new_balance', (a.details->>'new_balance')::bigint)
              from public.users u
              left join public.admin_audit_log a
                on a."entityType" = 'user' and a."entityId" = v_entry."userId"::text
               and a.action = 'credits.adjust' and (a.details->>'entry_id')::int = v_entry.id
              where u.id = v_entry."userId"
              limit 1);
    end if;
    select * into v_request from creditdesk.approval_requests where "idempotencyKey" = v_key;
    if found then
      if v_request.kind <> 'credits.adjust' or (v_request.payload->>'user_id')::int <> p_user
         or (v_request.payload->>'amount')::int <> p_amount then
        perform creditdesk.refuse('idempotency_key_reused',
          'this idempotency key was already used for a different request');
      end if;
      return jsonb_build_object('outcome', 'pending', 'request',
                                creditdesk.request_json(v_request));
    end if;
  end if;
  if abs(p_amount) > creditdesk.setting('approval.adjustment_credits') then
    -- Refused now if it couldn't be booked now (it is checked again when
    -- approved, against the balance then).
    select coalesce(credits, 0) into v_balance from public.users where id = p_user;
    if not found then
      perform creditdesk.refuse('not_found', format('no user matches #%s', p_user),
        jsonb_build_object('what', 'user', 'key', '#' || p_user));
    end if;
    if v_balance + p_amount < 0 then
      perform creditdesk.refuse('insufficient_credits',
        format('balance %s cannot take %s: it would go below zero', v_balance, p_amount),
        jsonb_build_object('balance', v_balance, 'change', p_amount));
    end if;
    return creditdesk.request('credits.adjust',
      jsonb_build_object('user_id', p_user, 'amount', p_amount, 'idempotency_key', v_key),
      format('adjust user #%s by %s%s credits', p_user,
             case when p_amount > 0 then '+' else '' end, p_amount),
      v_reason, v_actor, v_key);
  end if;
  return creditdesk.adjust_now(p_user, p_amount, v_reason, v_key, v_actor, null);
end $$;

-- ---------------------------------------------------------------------------
-- Coupons
-- ---------------------------------------------------------------------------

create or replace function creditdesk.lock_coupon(p_coupon integer)
returns public.coupons
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  c public.coupons;
begin
  begin
    select * into c from public.coupons where id = p_coupon for update;
  exception when lock_not_available then
    perform creditdesk.refuse('busy',
      format('coupon #%s is being changed by another session; nothing was written', p_coupon),
      jsonb_build_object('what', 'coupon', 'key', p_coupon::text));
  end;
  if c.id is null then
    perform creditdesk.refuse('not_found', format('no coupon matches #%s', p_coupon),
      jsonb_build_object('what', 'coupon', 'key', '#' || p_coupon));
  end if;
  return c;
end $$;

create or replace function creditdesk.create_coupon(
  p_code text, p_description text, p_discount_type text, p_value numeric, p_max_uses integer,
  p_valid_from timestamptz, p_valid_until timestamptz, p_generated boolean default false,
  p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  v_code text := upper(btrim(p_code));
  v_description text;
  c public.coupons;
begin
  perform creditdesk.require('coupon.create');
  v_actor := creditdesk.actor(p_operator);
  if v_code is null or v_code !~ '^[A-Z0-9_-]{3,32}$' or v_code !~ '[A-Z0-9]' then
    perform creditdesk.invalid('code',
      'a code is 3 to 32 letters A-Z, digits, ''-'' and ''_'', with a letter or a digit');
  end if;
  v_description := creditdesk.free_text('description', p_description, 500, true);
  if p_discount_type is null
     or p_discount_type not in ('percentage', 'fixed_amount', 'credits') then
    perform creditdesk.invalid('type', 'is one of percentage, fixed_amount, credits');
  end if;
  begin
    insert into public.coupons (code, description, "discountType", "discountValue", "maxUses",
                                "validFrom", "validUntil")
    values (v_code, v_description, p_discount_type::public.coupon_discount_type, p_value,
            p_max_uses, coalesce(p_valid_from, now()), p_valid_until)
    returning * into c;
  exception
    when unique_violation then
      perform creditdesk.refuse('duplicate_code', format('the code %s is already in use', v_code),
                                jsonb_build_object('code', v_code));
    when check_violation or not_null_violation then
      perform creditdesk.invalid('coupon', 'breaks a coupon rule: ' || sqlerrm);
  end;
  perform creditdesk.audit(v_actor, 'coupon.create', 'coupon', c.id::text, null,
    jsonb_build_object('code', c.code, 'generated', coalesce(p_generated, false),
                       'discount_type', c."discountType", 'discount_value', c."discountValue",
                       'max_uses', c."maxUses", 'valid_from', c."validFrom",
                       'valid_until', c."validUntil", 'description', c.description));
  return jsonb_build_object('coupon_id', c.id);
end $$;

create or replace function creditdesk.deactivate_coupon(p_coupon integer, p_reason text,
                                                        p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  v_reason text;
  c public.coupons;
begin
  perform creditdesk.require('coupon.deactivate');
  v_actor := creditdesk.actor(p_operator);
  v_reason := creditdesk.free_text('reason', p_reason, 500);
  c := creditdesk.lock_coupon(p_coupon);
  if not c."isActive" then
    perform creditdesk.refuse('coupon_already_inactive', 'the coupon is already inactive');
  end if;
  update public.coupons set "isActive" = false where id = c.id;
  perform creditdesk.audit(v_actor, 'coupon.deactivate', 'coupon', c.id::text, v_reason,
    jsonb_build_object('code', c.code, 'used_count', c."usedCount", 'max_uses', c."maxUses"));
  return jsonb_build_object('coupon_id', c.id);
end $$;

-- Redeems a credits coupon for a user: the coupon's row locked (redemptions
-- of one coupon queue up, so usedCount never passes maxUses), the rules
-- checked in the order the console explains them, one redemption per user,
-- the credits booked, the audit row written. Percentage and fixed-amount
-- coupons apply at checkout in the app.
create or replace function creditdesk.redeem_coupon(p_coupon integer, p_user integer,
                                                    p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  c public.coupons;
  v_credits integer;
  v_redemption record;
  v_used integer;
  posted jsonb;
  v_email text;
begin
  perform creditdesk.require('coupon.redeem');
  v_actor := creditdesk.actor(p_operator);
  c := creditdesk.lock_coupon(p_coupon);
  select email into v_email from public.users where id = p_user;
  if not found then
    perform creditdesk.refuse('not_found', format('no user matches #%s', p_user),
      jsonb_build_object('what', 'user', 'key', '#' || p_user));
  end if;
  if exists (select 1 from public.coupon_redemptions where "couponId" = c.id and "userId" = p_user) then
    perform creditdesk.refuse('coupon_already_redeemed', 'this user has already redeemed the coupon');
  end if;
  if not c."isActive" then
    perform creditdesk.refuse('coupon_inactive', 'the coupon is inactive');
  end if;
  if now() < c."validFrom" then
    perform creditdesk.refuse('coupon_not_yet_valid', 'the coupon is not valid yet',
      jsonb_build_object('valid_from', c."validFrom"));
  end if;
  if c."validUntil" is not null and now() >= c."validUntil" then
    perform creditdesk.refuse('coupon_expired', 'the coupon has expired',
      jsonb_build_object('valid_until', c."validUntil"));
  end if;
  if c."maxUses" is not null and c."usedCount" >= c."maxUses" then
    perform creditdesk.refuse('coupon_exhausted',
      format('the coupon has been used up: all %s uses are taken', c."maxUses"),
      jsonb_build_object('max_uses', c."maxUses"));
  end if;
  if c."discountType" <> 'credits' then
    perform creditdesk.refuse('coupon_applies_at_checkout',
      format('a %s coupon applies at checkout in the web app', c."discountType"),
      jsonb_build_object('discount_type', c."discountType"));
  end if;
  if c."discountValue" <> trunc(c."discountValue") or c."discountValue" < 1
     or c."discountValue" > 1000000 then
    perform creditdesk.refuse('coupon_value_not_payable',
      'the coupon''s value is not a whole number of credits from 1 to 1000000',
      jsonb_build_object('value', trim_scale(c."discountValue")::text));
  end if;
  v_credits := c."discountValue"::integer;
  begin
    insert into public.coupon_redemptions ("userId", "couponId", "creditsAwarded")
    values (p_user, c.id, v_credits)
    returning id, "redeemedAt" into v_redemption;
  exception when unique_violation then
    perform creditdesk.refuse('coupon_already_redeemed', 'this user has already redeemed the coupon');
  end;
  -- Guarded as well as locked: the statement itself never passes maxUses.
  update public.coupons set "usedCount" = "usedCount" + 1
  where id = c.id and ("maxUses" is null or "usedCount" < "maxUses")
  returning "usedCount" into v_used;
  if v_used is null then
    perform creditdesk.refuse('coupon_exhausted',
      format('the coupon has been used up: all %s uses are taken', c."maxUses"),
      jsonb_build_object('max_uses', c."maxUses"));
  end if;
  posted := creditdesk.post(p_user, v_credits, 'coupon', 'coupon ' || c.code, p_coupon => c.id);
  perform creditdesk.audit(v_actor, 'coupon.redeem', 'coupon', c.id::text, null,
    jsonb_build_object('code', c.code, 'user_id', p_user, 'credits', v_credits,
                       'redemption_id', v_redemption.id, 'used_count', v_used) || posted);
  return jsonb_build_object('redemption_id', v_redemption.id, 'coupon_id', c.id, 'code', c.code,
                            'user_id', p_user, 'email', v_email, 'credits', v_credits,
                            'used_count', v_used, 'max_uses', c."maxUses",
                            'redeemed_at', v_redemption."redeemedAt") || posted;
end $$;

-- ---------------------------------------------------------------------------
-- Gift cards
-- ---------------------------------------------------------------------------

-- The card whose code, in its normalised form, is one of p_keys (the exact
-- reading first): its id, or null. The code itself never leaves.
create or replace function creditdesk.find_gift_card(p_keys text[])
returns integer
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
  select id from public.gift_cards
  where replace(replace(code, '-', ''), ' ', '') = any(p_keys)
  order by replace(replace(code, '-', ''), ' ', '') = p_keys[1] desc
  limit 1
$$;

create or replace function creditdesk.lock_gift_card(p_card integer)
returns public.gift_cards
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  g public.gift_cards;
begin
  begin
    select * into g from public.gift_cards where id = p_card for update;
  exception when lock_not_available then
    perform creditdesk.refuse('busy',
      format('gift card #%s is being changed by another session; nothing was written', p_card),
      jsonb_build_object('what', 'gift card', 'key', p_card::text));
  end;
  if g.id is null then
    perform creditdesk.refuse('not_found', format('no gift card matches #%s', p_card),
      jsonb_build_object('what', 'gift card', 'key', '#' || p_card));
  end if;
  return g;
end $$;

-- A new code: 20 symbols of Crockford base32 (no I, L, O, U), 100 bits from
-- PostgreSQL's cryptographic random source (gen_random_uuid), in groups of
-- four for reading aloud: K7QF-9XM2-ABCD-EFGH-JKMN. Each symbol takes the low
-- five bits of a byte that is wholly random (a v4 UUID fixes four bits of
-- byte 6 and two of byte 8, which are skipped).
create or replace function creditdesk.new_gift_card_code()
returns text
language sql volatile
set search_path = pg_catalog, pg_temp
as $$
  with b as (select uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()) as bytes)
  select string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', (get_byte(b.bytes, p) & 31) + 1, 1)
                    || case when n % 4 = 0 and n < 20 then '-' else '' end, '' order by n)
  from b, unnest(array[0, 1, 2, 3, 4, 5, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21])
          with ordinality as t(p, n)
$$;

create or replace function creditdesk.issue_now(
  p_count integer, p_pack integer, p_credits integer, p_price numeric, p_recipient text,
  p_expires_at timestamptz, p_reason text, p_actor text, p_approval jsonb)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_cards jsonb;
  v_first integer;
  v_last integer;
  v_n integer;
  v_details jsonb;
  v_pack_name text;
begin
  for attempt in 1..3 loop
    begin
      with ins as (
        insert into public.gift_cards (code, "creditPackId", credits, price, status,
                                       "recipientEmail", "expiresAt")
        select creditdesk.new_gift_card_code(), p_pack, p_credits, p_price, 'active', p_recipient,
               p_expires_at
        from generate_series(1, p_count)
        returning id, code, "createdAt")
      select jsonb_agg(jsonb_build_object('id', id, 'code', code, 'created_at', "createdAt")
                       order by id),
             min(id), max(id), count(*)
      into v_cards, v_first, v_last, v_n
      from ins;
      exit;
    exception when unique_violation then
      -- A generated code is taken (at 100 bits, chance alone almost never
      -- does this): new codes, at most three times.
      if attempt = 3 then
        raise exception 'generated gift card codes collided with existing ones 3 times: nothing was issued';
      end if;
    end;
  end loop;
  select name into v_pack_name from public.credit_packs where id = p_pack;
  v_details := jsonb_build_object('count', v_n, 'credits', p_credits, 'price', p_price,
                                  'pack', v_pack_name, 'credit_pack_id', p_pack,
                                  'recipient', p_recipient, 'expires_at', p_expires_at,
                                  'first_id', v_first, 'last_id', v_last)
               || coalesce(p_approval, '{}');
  -- Ids are usually consecutive; when another session's inserts interleaved,
  -- the range would claim cards that aren't these, so the ids are listed.
  if v_last - v_first + 1 <> v_n then
    v_details := v_details || jsonb_build_object('ids',
      (select jsonb_agg((c->>'id')::int) from jsonb_array_elements(v_cards) c));
  end if;
  perform creditdesk.audit(p_actor, 'gift_card.issue', 'gift_card',
    case when v_first = v_last then v_first::text else v_first || '..' || v_last end,
    p_reason, v_details);
  return jsonb_build_object('outcome', 'applied', 'cards', v_cards, 'credits', p_credits,
                            'price', p_price::text, 'credit_pack_id', p_pack,
                            'recipient_email', p_recipient, 'expires_at', p_expires_at);
end $$;

-- Issues p_count active cards worth a pack (by name, any case; it must be
-- active) or p_credits at p_price: one INSERT for the whole batch and one
-- audit row, which lists ids, never codes. Above the approval threshold
-- (credits in all) it becomes a pending request; the codes are made when it
-- is approved. Returns the codes: the one time they are shown.
create or replace function creditdesk.issue_gift_cards(
  p_count integer, p_pack text, p_credits integer, p_price numeric, p_recipient text,
  p_expires_at timestamptz, p_reason text, p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  v_reason text;
  v_recipient text := lower(btrim(p_recipient));
  v_pack public.credit_packs;
  v_credits integer := p_credits;
  v_price numeric := p_price;
  v_total bigint;
begin
  perform creditdesk.require('gift_card.issue');
  v_actor := creditdesk.actor(p_operator);
  v_reason := creditdesk.free_text('reason', p_reason, 500, true);
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
  if p_expires_at is not null and p_expires_at <= now() then
    perform creditdesk.invalid('expires-at', 'must be in the future');
  end if;
  if p_pack is not null then
    select * into v_pack from public.credit_packs
    where lower(btrim(name)) = lower(btrim(p_pack))
    order by "isActive" desc, id limit 1;
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
                         'expires_at', p_expires_at),
      format('issue %s gift card%s of %s credits (%s credits in all)', p_count,
             case when p_count = 1 then '' else 's' end, v_credits, v_total),
      coalesce(v_reason, 'gift card issue'), v_actor, null);
  end if;
  return creditdesk.issue_now(p_count, v_pack.id, v_credits, v_price, v_recipient, p_expires_at,
                              v_reason, v_actor, null);
end $$;

-- Revokes a pending or active card, recording who and why. A redeemed card
-- is never revoked: its credits are in a balance (a balance adjustment is
-- the tool for that).
create or replace function creditdesk.revoke_gift_card(p_card integer, p_reason text,
                                                       p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  v_reason text;
  g public.gift_cards;
begin
  perform creditdesk.require('gift_card.revoke');
  v_actor := creditdesk.actor(p_operator);
  v_reason := creditdesk.free_text('reason', p_reason, 500);
  g := creditdesk.lock_gift_card(p_card);
  if g.status not in ('pending', 'active') then
    perform creditdesk.refuse('gift_card_not_revocable',
      format('the gift card is %s: only pending and active cards can be revoked', g.status),
      jsonb_build_object('status', g.status));
  end if;
  update public.gift_cards
  set status = 'revoked', "revokedAt" = now(), "revokedBy" = v_actor, "revokeReason" = v_reason
  where id = g.id;
  perform creditdesk.audit(v_actor, 'gift_card.revoke', 'gift_card', g.id::text, v_reason,
    jsonb_build_object('code_masked', creditdesk.mask_code(g.code),
                       'previous_status', g.status, 'credits', g.credits));
  return jsonb_build_object('gift_card_id', g.id);
end $$;

-- Redeems a card for a user, exactly once: the card's row locked, the rules
-- checked (a card past its date can't be redeemed whatever its status), the
-- card marked redeemed and its credits booked, with the audit row.
create or replace function creditdesk.redeem_gift_card(p_card integer, p_user integer,
                                                       p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  g public.gift_cards;
  v_email text;
  posted jsonb;
  v_masked text;
begin
  perform creditdesk.require('gift_card.redeem');
  v_actor := creditdesk.actor(p_operator);
  select email into v_email from public.users where id = p_user;
  if not found then
    perform creditdesk.refuse('not_found', format('no user matches #%s', p_user),
      jsonb_build_object('what', 'user', 'key', '#' || p_user));
  end if;
  g := creditdesk.lock_gift_card(p_card);
  if g.status = 'redeemed' then
    perform creditdesk.refuse('gift_card_already_redeemed', 'the gift card has already been redeemed');
  elsif g.status = 'revoked' then
    perform creditdesk.refuse('gift_card_revoked', 'the gift card has been revoked');
  elsif g.status = 'expired' or (g."expiresAt" is not null and now() >= g."expiresAt") then
    perform creditdesk.refuse('gift_card_expired', 'the gift card has expired',
      jsonb_build_object('expires_at', g."expiresAt"));
  elsif g.status = 'pending' then
    perform creditdesk.refuse('gift_card_pending',
      'the gift card is still pending: it cannot be redeemed until it is activated');
  end if;
  update public.gift_cards set status = 'redeemed', "redeemedByUserId" = p_user, "redeemedAt" = now()
  where id = g.id;
  v_masked := creditdesk.mask_code(g.code);
  posted := creditdesk.post(p_user, g.credits, 'gift_card',
                            'gift card ' || v_masked || ' (by ' || v_actor || ')',
                            p_gift_card => g.id);
  perform creditdesk.audit(v_actor, 'gift_card.redeem', 'gift_card', g.id::text, null,
    jsonb_build_object('code_masked', v_masked, 'user_id', p_user, 'credits', g.credits) || posted);
  return jsonb_build_object('gift_card_id', g.id, 'user_id', p_user, 'email', v_email,
                            'credits', g.credits) || posted;
end $$;

-- The full code of a card, for an operator who must read it to a customer;
-- the audit row is written first (a read-only transaction can't write it,
-- so it gets no code either).
create or replace function creditdesk.reveal_gift_card(p_card integer, p_operator text default null)
returns text
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  v_code text;
begin
  perform creditdesk.require('gift_card.reveal');
  v_actor := creditdesk.actor(p_operator);
  select code into v_code from public.gift_cards where id = p_card;
  if v_code is null then
    perform creditdesk.refuse('not_found', format('no gift card matches #%s', p_card),
      jsonb_build_object('what', 'gift card', 'key', '#' || p_card));
  end if;
  perform creditdesk.audit(v_actor, 'gift_card.reveal', 'gift_card', p_card::text, null,
    jsonb_build_object('code_masked', creditdesk.mask_code(v_code)));
  return v_code;
end $$;

-- ---------------------------------------------------------------------------
-- Batches
-- ---------------------------------------------------------------------------

-- What a batch charged and refunded, by the ledger: the generation entries
-- linked to it directly, or through one of its photos when they name no
-- batch; each entry counts once.
create or replace function creditdesk.batch_totals(p_batch integer,
                                                   out charged bigint, out refunded bigint,
                                                   out refunds bigint)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(-sum(amount) filter (where type = 'generation'), 0)::bigint,
         coalesce(sum(amount) filter (where type = 'refund' and "relatedBatchId" = p_batch), 0)::bigint,
         count(*) filter (where type = 'refund' and "relatedBatchId" = p_batch)
  from public.credit_history
  where "relatedBatchId" = p_batch
     or ("relatedBatchId" is null
         and "relatedPhotoId" in (select id from public.photos where "generationBatchId" = p_batch))
$$;

-- Marks a generating batch failed and/or refunds it (p_refund: none, all or
-- amount), one refund entry at most, never more than the batch charged.
-- Lock order: the user's balance, then the batch, as every ledger writer.
create or replace function creditdesk.fail_batch(p_batch integer, p_reason text, p_refund text,
                                                 p_amount integer default null,
                                                 p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  v_reason text;
  v_owner integer;
  v_balance bigint;
  b record;
  v_mark boolean;
  t record;
  v_amount bigint;
  posted jsonb;
  v_result jsonb;
begin
  perform creditdesk.require('batch.fail');
  v_actor := creditdesk.actor(p_operator);
  v_reason := creditdesk.free_text('reason', p_reason, 500);
  if p_refund is null or p_refund not in ('none', 'all', 'amount') then
    perform creditdesk.invalid('refund', 'is one of none, all, amount');
  end if;
  if p_refund = 'amount' and (p_amount is null or p_amount < 1) then
    perform creditdesk.invalid('refund', 'must be at least 1 credit');
  end if;
  select "userId" into v_owner from public.photo_generation_batches where id = p_batch;
  if not found then
    perform creditdesk.refuse('not_found', format('no batch matches %s', p_batch),
      jsonb_build_object('what', 'batch', 'key', p_batch::text));
  end if;
  v_balance := creditdesk.lock_balance(v_owner);
  begin
    select pb.status, pb."userId", u.email into b
    from public.photo_generation_batches pb join public.users u on u.id = pb."userId"
    where pb.id = p_batch
    for update of pb;
  exception when lock_not_available then
    perform creditdesk.refuse('busy',
      format('batch %s is being changed by another session; nothing was written', p_batch),
      jsonb_build_object('what', 'batch', 'key', p_batch::text));
  end;
  if b.status is null then
    perform creditdesk.refuse('not_found', format('no batch matches %s', p_batch),
      jsonb_build_object('what', 'batch', 'key', p_batch::text));
  end if;
  if b."userId" <> v_owner then
    raise exception 'batch % changed owner while it was being failed: nothing was written; try again',
      p_batch;
  end if;
  if b.status = 'failed' and p_refund <> 'none' then
    v_mark := false;
  elsif b.status = 'failed' then
    perform creditdesk.refuse('batch_already_failed',
      'the batch is already marked failed: only a refund can still be given');
  elsif b.status = 'generating' then
    v_mark := true;
  else
    perform creditdesk.refuse('batch_not_failable',
      format('the batch is %s: only a generating batch can be marked failed', b.status),
      jsonb_build_object('status', b.status));
  end if;
  select * into t from creditdesk.batch_totals(p_batch);
  if p_refund <> 'none' then
    if t.refunds > 0 then
      perform creditdesk.refuse('batch_already_refunded', 'this batch has already been refunded');
    end if;
    if t.charged <= 0 then
      perform creditdesk.refuse('nothing_to_refund',
        'the batch charged no credits: there is nothing to refund');
    end if;
    v_amount := case p_refund when 'all' then t.charged else p_amount end;
    if v_amount > t.charged then
      perform creditdesk.refuse('refund_exceeds_charge',
        format('a refund of %s credits exceeds the %s credits charged', v_amount, t.charged),
        jsonb_build_object('charged', t.charged, 'requested', v_amount));
    end if;
  end if;
  if v_mark then
    update public.photo_generation_batches set status = 'failed' where id = p_batch;
  end if;
  if v_amount is not null then
    begin
      posted := creditdesk.post(v_owner, v_amount::integer, 'refund',
        format('refund for failed batch %s: %s (by %s)', p_batch, v_reason, v_actor),
        p_batch => p_batch);
    exception when unique_violation then
      perform creditdesk.refuse('batch_already_refunded', 'this batch has already been refunded');
    end;
  else
    posted := jsonb_build_object('entry_id', null, 'old_balance', v_balance,
                                 'new_balance', v_balance);
  end if;
  v_result := jsonb_build_object('batch_id', p_batch, 'user_id', v_owner, 'email', b.email,
                                 'previous_status', b.status, 'status', 'failed',
                                 'marked_failed', v_mark, 'charged', t.charged,
                                 'refunded', coalesce(v_amount, 0)) || posted;
  perform creditdesk.audit(v_actor, 'batch.fail', 'batch', p_batch::text, v_reason,
    jsonb_build_object('previous_status', b.status, 'marked_failed', v_mark, 'user_id', v_owner,
                       'charged', t.charged, 'refund', coalesce(v_amount, 0)) || posted);
  return v_result;
end $$;

-- ---------------------------------------------------------------------------
-- Deciding requests
-- ---------------------------------------------------------------------------

create or replace function creditdesk.lock_request(p_request bigint)
returns creditdesk.approval_requests
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  r creditdesk.approval_requests;
begin
  begin
    select * into r from creditdesk.approval_requests where id = p_request for update;
  exception when lock_not_available then
    perform creditdesk.refuse('busy',
      format('request #%s is being decided by another session; nothing was written', p_request),
      jsonb_build_object('what', 'approval request', 'key', p_request::text));
  end;
  if r.id is null then
    perform creditdesk.refuse('not_found', format('no approval request matches #%s', p_request),
      jsonb_build_object('what', 'approval request', 'key', '#' || p_request));
  end if;
  if r.status <> 'pending' then
    perform creditdesk.refuse('already_decided',
      format('request #%s was already %s by %s', r.id, r.status, r."decidedBy"),
      jsonb_build_object('status', r.status, 'decided_by', r."decidedBy"));
  end if;
  if clock_timestamp() >= r."expiresAt" then
    perform creditdesk.refuse('request_expired', format('request #%s has expired', r.id),
      jsonb_build_object('expires_at', r."expiresAt"));
  end if;
  if r."requestedByLogin" = session_user then
    perform creditdesk.refuse('own_request',
      'a request needs a second person: the login that asked for it cannot decide it');
  end if;
  return r;
end $$;

-- Approves a pending request: the change runs now, in this transaction, as
-- asked (checked against the state now), and its audit row names the one
-- who asked and the one who approved.
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
  else
    v_result := creditdesk.issue_now((r.payload->>'count')::int,
                                     (r.payload->>'credit_pack_id')::int,
                                     (r.payload->>'credits')::int,
                                     (r.payload->>'price')::numeric,
                                     r.payload->>'recipient',
                                     (r.payload->>'expires_at')::timestamptz,
                                     r.reason, v_actor, v_approval);
  end if;
  update creditdesk.approval_requests
  set status = 'approved', "decidedByLogin" = session_user, "decidedBy" = v_actor,
      "decidedAt" = now(), "decisionReason" = v_reason, result = v_result - 'cards'
  where id = r.id;
  perform creditdesk.audit(v_actor, 'approval.approve', 'approval_request', r.id::text, v_reason,
    jsonb_build_object('kind', r.kind, 'summary', r.summary) || v_approval);
  return jsonb_build_object('request', creditdesk.request_json(r), 'result', v_result);
end $$;

create or replace function creditdesk.reject_request(p_request bigint, p_reason text,
                                                     p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  v_reason text;
  r creditdesk.approval_requests;
begin
  perform creditdesk.require('approval.decide');
  v_actor := creditdesk.actor(p_operator);
  v_reason := creditdesk.free_text('reason', p_reason, 500);
  r := creditdesk.lock_request(p_request);
  update creditdesk.approval_requests
  set status = 'rejected', "decidedByLogin" = session_user, "decidedBy" = v_actor,
      "decidedAt" = now(), "decisionReason" = v_reason
  where id = r.id;
  perform creditdesk.audit(v_actor, 'approval.reject', 'approval_request', r.id::text, v_reason,
    jsonb_build_object('kind', r.kind, 'summary', r.summary, 'requested_by', r."requestedBy",
                       'requested_by_login', r."requestedByLogin"));
  return jsonb_build_object('request', creditdesk.request_json(r));
end $$;

-- ---------------------------------------------------------------------------
-- Settings and operators (admins)
-- ---------------------------------------------------------------------------

create or replace function creditdesk.set_setting(p_key text, p_value bigint, p_reason text,
                                                  p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  v_reason text;
  v_old bigint;
begin
  perform creditdesk.require('settings.change');
  v_actor := creditdesk.actor(p_operator);
  v_reason := creditdesk.free_text('reason', p_reason, 500);
  select value into v_old from creditdesk.settings where key = p_key for update;
  if not found then
    perform creditdesk.invalid('setting', format('no setting is named %s; the settings are %s',
      p_key, (select string_agg(key, ', ' order by key) from creditdesk.settings)));
  end if;
  if p_value is null or p_value < 0 or p_value > 1000000000 then
    perform creditdesk.invalid('value', 'must be between 0 and 1000000000');
  end if;
  if p_key = 'approval.expires_after_hours' and (p_value < 1 or p_value > 720) then
    perform creditdesk.invalid('value', 'requests expire after 1 to 720 hours');
  end if;
  update creditdesk.settings set value = p_value, "updatedAt" = now(), "updatedBy" = v_actor
  where key = p_key;
  perform creditdesk.audit(v_actor, 'settings.change', 'setting', p_key, v_reason,
    jsonb_build_object('old', v_old, 'new', p_value));
  return jsonb_build_object('key', p_key, 'old', v_old, 'new', p_value);
end $$;

-- A login in a creditdesk group, not a superuser and not the owner: the only
-- roles the operator functions change.
create or replace function creditdesk.require_operator_login(p_login text)
returns void
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  if to_regrole(p_login) is null
     or not exists (select 1 from creditdesk.operators where login = p_login) then
    perform creditdesk.refuse('not_found', format('no operator matches %s', p_login),
      jsonb_build_object('what', 'operator', 'key', p_login));
  end if;
  if (select rolsuper from pg_roles where rolname = p_login)
     or pg_has_role(p_login, (select nspowner from pg_namespace where nspname = 'creditdesk'), 'USAGE') then
    perform creditdesk.refuse('not_permitted',
      format('%s is a superuser or owns creditdesk: change it with SQL, not as an operator', p_login),
      jsonb_build_object('role', creditdesk.role_label(), 'action', 'operators.manage'));
  end if;
end $$;

create or replace function creditdesk.check_group(p_group text)
returns text
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
declare
  g text := 'creditdesk_' || regexp_replace(lower(btrim(p_group)), '^creditdesk_', '');
begin
  if not g = any(creditdesk.group_names()) then
    perform creditdesk.invalid('role', 'is one of auditor, support, finance, oncall, admin');
  end if;
  return g;
end $$;

-- Creates an operator's login in a group. The password arrives already
-- hashed (a SCRAM-SHA-256 verifier made by the client), so the clear text
-- never reaches the server or its logs. Needs the owner to have CREATEROLE.
create or replace function creditdesk.add_operator(p_login text, p_group text, p_verifier text,
                                                   p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  v_group text := creditdesk.check_group(p_group);
begin
  perform creditdesk.require('operators.manage');
  v_actor := creditdesk.actor(p_operator);
  if p_login is null or p_login !~ '^[a-z][a-z0-9_.@-]{1,62}$' then
    perform creditdesk.invalid('name',
      'a login is 2 to 63 lower-case letters, digits and _ . @ -, starting with a letter');
  end if;
  if p_verifier is null or p_verifier !~ '^SCRAM-SHA-256\$' then
    perform creditdesk.invalid('password', 'the password must arrive as a SCRAM-SHA-256 verifier');
  end if;
  if to_regrole(p_login) is not null then
    perform creditdesk.refuse('operator_exists', format('a role named %s already exists', p_login),
      jsonb_build_object('login', p_login));
  end if;
  if to_regrole(v_group) is null then
    perform creditdesk.refuse('roles_missing',
      format('the group role %s does not exist: run creditdesk doctor', v_group),
      jsonb_build_object('role', v_group));
  end if;
  execute format('create role %I login password %L in role %I', p_login, p_verifier, v_group);
  perform creditdesk.audit(v_actor, 'operator.add', 'operator', p_login, null,
    jsonb_build_object('role', replace(v_group, 'creditdesk_', '')));
  return jsonb_build_object('login', p_login, 'role', replace(v_group, 'creditdesk_', ''));
end $$;

create or replace function creditdesk.set_operator_role(p_login text, p_group text, p_reason text,
                                                        p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  v_reason text;
  v_group text := creditdesk.check_group(p_group);
  v_before text[];
  g text;
begin
  perform creditdesk.require('operators.manage');
  v_actor := creditdesk.actor(p_operator);
  v_reason := creditdesk.free_text('reason', p_reason, 500, true);
  perform creditdesk.require_operator_login(p_login);
  select groups into v_before from creditdesk.operators where login = p_login;
  foreach g in array creditdesk.group_names() loop
    if g <> v_group and g = any(v_before) then
      execute format('revoke %I from %I', g, p_login);
    end if;
  end loop;
  if not v_group = any(v_before) then
    execute format('grant %I to %I', v_group, p_login);
  end if;
  perform creditdesk.audit(v_actor, 'operator.set_role', 'operator', p_login, v_reason,
    jsonb_build_object('before', v_before, 'role', replace(v_group, 'creditdesk_', '')));
  return jsonb_build_object('login', p_login, 'role', replace(v_group, 'creditdesk_', ''));
end $$;

create or replace function creditdesk.disable_operator(p_login text, p_reason text,
                                                       p_operator text default null)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_actor text;
  v_reason text;
begin
  perform creditdesk.require('operators.manage');
  v_actor := creditdesk.actor(p_operator);
  v_reason := creditdesk.free_text('reason', p_reason, 500);
  perform creditdesk.require_operator_login(p_login);
  if p_login = session_user then
    perform creditdesk.refuse('own_login', 'you cannot disable the login you are using');
  end if;
  execute format('alter role %I nologin', p_login);
  perform creditdesk.audit(v_actor, 'operator.disable', 'operator', p_login, v_reason, '{}');
  return jsonb_build_object('login', p_login);
end $$;

-- ---------------------------------------------------------------------------
-- Who is connected
-- ---------------------------------------------------------------------------

create or replace function creditdesk.whoami()
returns jsonb
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
  select jsonb_build_object(
    'login', session_user::text,
    'owner', creditdesk.is_owner(),
    'groups', to_jsonb(case when creditdesk.is_owner() then array[]::text[]
                            else creditdesk.login_groups() end),
    'pending_approvals', (select count(*) from creditdesk.approval_requests
                          where status = 'pending' and "expiresAt" > now()),
    'schema_version', (select max(version) from creditdesk._sqlx_migrations where success),
    'owner_may_create_roles', (select rolcreaterole or rolsuper from pg_roles r
                               join pg_namespace n on n.nspowner = r.oid
                               where n.nspname = 'creditdesk'),
    'settings', (select jsonb_object_agg(key, value) from creditdesk.settings))
$$;

-- ---------------------------------------------------------------------------
-- Privileges: what each group may use (run by `creditdesk migrate` every
-- time, so groups created later by a DBA get them too)
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
        ('creditdesk.adjust_credits(integer, integer, text, text, text)', 'credits.adjust'),
        ('creditdesk.create_coupon(text, text, text, numeric, integer, timestamptz, timestamptz, boolean, text)', 'coupon.create'),
        ('creditdesk.deactivate_coupon(integer, text, text)', 'coupon.deactivate'),
        ('creditdesk.redeem_coupon(integer, integer, text)', 'coupon.redeem'),
        ('creditdesk.issue_gift_cards(integer, text, integer, numeric, text, timestamptz, text, text)', 'gift_card.issue'),
        ('creditdesk.revoke_gift_card(integer, text, text)', 'gift_card.revoke'),
        ('creditdesk.redeem_gift_card(integer, integer, text)', 'gift_card.redeem'),
        ('creditdesk.reveal_gift_card(integer, text)', 'gift_card.reveal'),
        ('creditdesk.fail_batch(integer, text, text, integer, text)', 'batch.fail'),
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
end $$;

select creditdesk.grant_privileges();
