-- What operators read (security.md §2): views in the creditdesk schema,
-- owned by the schema's owner, so they see the rows whatever the app's row
-- level security says, while operators get no privilege on the tables
-- themselves. Gift-card codes appear only masked; the full code comes only
-- through the audited creditdesk.reveal_gift_card. Every creditdesk query
-- reads through these, for every login alike.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

-- `••••-••••-••••-••••-JKMN`: every letter or digit but the last four
-- hidden, separators kept; four or fewer letters and digits are all hidden.
create or replace function creditdesk.mask_code(code text) returns text
language sql immutable
set search_path = pg_catalog, pg_temp
as $$
  select case
    when length(regexp_replace(code, '[^[:alnum:]]', '', 'g')) <= 4
      then regexp_replace(code, '[[:alnum:]]', '•', 'g')
    else regexp_replace(code, '[[:alnum:]](?=([^[:alnum:]]*[[:alnum:]]){4})', '•', 'g')
  end
$$;

-- The app's tables: only the columns the tool reads, the balance never null.
create or replace view creditdesk.users as
select id, email, name, coalesce(credits, 0) as credits, "createdAt"
from public.users;

create or replace view creditdesk.credit_packs as
select id, name, credits, price, "isActive"
from public.credit_packs;

create or replace view creditdesk.models as
select id, "userId", name, status
from public.models;

create or replace view creditdesk.photos as
select id, "userId", "modelId", "imageUrl", "createdAt", "creditsUsed", "aspectRatio", glasses,
       "hairColor", "hairStyle", backgrounds, styles, "generationBatchId"
from public.photos;

-- The tool's tables.
create or replace view creditdesk.photo_generation_batches as
select id, "userId", "modelId", "totalImagesGenerated", "creditsUsed", "aspectRatio", glasses,
       "hairColor", "hairStyle", backgrounds, styles, status, "createdAt", "completedAt"
from public.photo_generation_batches;

create or replace view creditdesk.coupons as
select id, code, description, "discountType", "discountValue", "maxUses", "usedCount",
       "validFrom", "validUntil", "isActive", "createdAt"
from public.coupons;

create or replace view creditdesk.coupon_redemptions as
select id, "userId", "couponId", "creditsAwarded", "discountApplied", "transactionId", "redeemedAt"
from public.coupon_redemptions;

-- No code column: the masked form, and the last four letters and digits
-- (what lists show and search by; indexed as gift_cards_code_tail_idx).
create or replace view creditdesk.gift_cards as
select id, creditdesk.mask_code(code) as "codeMasked",
       right(replace(replace(code, '-', ''), ' ', ''), 4) as "codeTail",
       "purchasedByUserId", "purchasedByEmail", "recipientEmail", "creditPackId", credits, price,
       status, "redeemedByUserId", "redeemedAt", "expiresAt", "transactionId", "createdAt",
       "revokedAt", "revokedBy", "revokeReason"
from public.gift_cards;

create or replace view creditdesk.credit_history as
select id, "userId", amount, type, description, "relatedTransactionId", "relatedPhotoId",
       "relatedModelId", "relatedGiftCardId", "relatedCouponId", "relatedBatchId",
       "idempotencyKey", "createdAt"
from public.credit_history;

create or replace view creditdesk.admin_audit_log as
select id, seq, login, actor, action, "entityType", "entityId", reason, details, "createdAt",
       "prevHash", hash
from public.admin_audit_log;

-- Requests with the status that counts now: a pending one past its time is
-- expired.
create or replace view creditdesk.approvals as
select id, kind, payload, summary, reason, "requestedByLogin", "requestedBy", "requestedAt",
       "expiresAt",
       case when status = 'pending' and now() >= "expiresAt" then 'expired' else status end
         as status,
       "decidedByLogin", "decidedBy", "decidedAt", "decisionReason"
from creditdesk.approval_requests;

create or replace view creditdesk.current_settings as
select key, value, "updatedAt", "updatedBy"
from creditdesk.settings;

-- Logins in at least one creditdesk group, with their groups.
create or replace view creditdesk.operators as
select r.rolname as login, r.rolcanlogin as "canLogin",
       array(select g.rolname::text from pg_auth_members m join pg_roles g on g.oid = m.roleid
             where m.member = r.oid and g.rolname like 'creditdesk\_%'
             order by g.rolname) as groups
from pg_roles r
where exists (select 1 from pg_auth_members m join pg_roles g on g.oid = m.roleid
              where m.member = r.oid
                and g.rolname in ('creditdesk_auditor', 'creditdesk_support', 'creditdesk_finance',
                                  'creditdesk_oncall', 'creditdesk_admin'));

select creditdesk.secure();
