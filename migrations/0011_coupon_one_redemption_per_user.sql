-- no-transaction
-- Decision: one redemption of a coupon per user. (usedCount <= maxUses is the
-- coupons_usedCount_check constraint; redemption increments usedCount in the
-- same statement that checks it.)
-- squawk-ignore-file ban-concurrent-index-creation-in-transaction
set lock_timeout = '10s';
set statement_timeout = 0;
create unique index concurrently if not exists "coupon_redemptions_couponId_userId_key"
  on public.coupon_redemptions ("couponId", "userId");
