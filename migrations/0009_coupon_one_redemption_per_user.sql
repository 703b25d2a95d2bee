-- Decision: one redemption of a coupon per user. (usedCount <= maxUses is the
-- coupons_usedCount_check constraint; the tool increments usedCount in the
-- same statement that checks it.)
create unique index if not exists "coupon_redemptions_couponId_userId_key"
  on public.coupon_redemptions ("couponId", "userId");
