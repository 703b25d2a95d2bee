-- no-transaction
-- Decision: an index for every foreign key (an ON DELETE on an unindexed key
-- scans the whole child table) and for the screens' queries, on the tables
-- the tool owns. Keys that are mostly null get partial indexes: a lookup
-- "where key = $1" still uses them. Built concurrently: the tables may
-- already hold rows when this runs again after an interruption.
-- squawk-ignore-file ban-concurrent-index-creation-in-transaction
set lock_timeout = '10s';
set statement_timeout = 0;

-- the ledger, newest first per user (keyset pagination on createdAt, id)
create index concurrently if not exists credit_history_user_created_idx
  on public.credit_history ("userId", "createdAt" desc, id desc);
create index concurrently if not exists credit_history_transaction_idx
  on public.credit_history ("relatedTransactionId") where "relatedTransactionId" is not null;
create index concurrently if not exists credit_history_photo_idx
  on public.credit_history ("relatedPhotoId") where "relatedPhotoId" is not null;
create index concurrently if not exists credit_history_model_idx
  on public.credit_history ("relatedModelId") where "relatedModelId" is not null;
create index concurrently if not exists credit_history_gift_card_idx
  on public.credit_history ("relatedGiftCardId") where "relatedGiftCardId" is not null;
create index concurrently if not exists credit_history_coupon_idx
  on public.credit_history ("relatedCouponId") where "relatedCouponId" is not null;
create index concurrently if not exists credit_history_batch_idx
  on public.credit_history ("relatedBatchId") where "relatedBatchId" is not null;

-- model_training_images ("modelId") is covered by its unique ("modelId", "imageOrder").

-- batches: by status oldest first (the stuck view), by user, by model
create index concurrently if not exists photo_generation_batches_status_created_idx
  on public.photo_generation_batches (status, "createdAt");
create index concurrently if not exists photo_generation_batches_user_idx
  on public.photo_generation_batches ("userId", "createdAt" desc);
create index concurrently if not exists photo_generation_batches_model_idx
  on public.photo_generation_batches ("modelId") where "modelId" is not null;

-- coupons: ("couponId") is covered by the unique ("couponId", "userId")
create index concurrently if not exists coupon_redemptions_user_idx
  on public.coupon_redemptions ("userId");
create index concurrently if not exists coupon_redemptions_transaction_idx
  on public.coupon_redemptions ("transactionId") where "transactionId" is not null;

-- gift cards: by status, by recipient (any case), by the end of the code
-- (what lists show and search), and their keys
create index concurrently if not exists gift_cards_status_created_idx
  on public.gift_cards (status, "createdAt" desc, id desc);
create index concurrently if not exists gift_cards_recipient_idx
  on public.gift_cards (lower("recipientEmail")) where "recipientEmail" is not null;
create index concurrently if not exists gift_cards_code_tail_idx
  on public.gift_cards ((right(replace(replace(code, '-', ''), ' ', ''), 4)));
create index concurrently if not exists gift_cards_purchased_by_idx
  on public.gift_cards ("purchasedByUserId") where "purchasedByUserId" is not null;
create index concurrently if not exists gift_cards_redeemed_by_idx
  on public.gift_cards ("redeemedByUserId") where "redeemedByUserId" is not null;
create index concurrently if not exists gift_cards_credit_pack_idx
  on public.gift_cards ("creditPackId") where "creditPackId" is not null;
create index concurrently if not exists gift_cards_transaction_idx
  on public.gift_cards ("transactionId") where "transactionId" is not null;

-- the audit log, newest first, by operator and by action
create index concurrently if not exists admin_audit_log_created_idx
  on public.admin_audit_log ("createdAt" desc, id desc);
create index concurrently if not exists admin_audit_log_actor_idx
  on public.admin_audit_log (actor, "createdAt" desc);
create index concurrently if not exists admin_audit_log_login_idx
  on public.admin_audit_log (login, "createdAt" desc);
create index concurrently if not exists admin_audit_log_action_idx
  on public.admin_audit_log (action, "createdAt" desc);
create index concurrently if not exists admin_audit_log_entity_idx
  on public.admin_audit_log ("entityType", "entityId");
