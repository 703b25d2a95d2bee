-- The ledger itself, in plan order: per user, oldest first (the ids follow).
-- No joins, so rows go in in the order they are read. Descriptions are mostly
-- constants picked by index (formatting ten million strings costs seconds).
insert into public.credit_history ("userId", amount, type, description, "relatedTransactionId",
                                   "relatedPhotoId", "relatedModelId", "relatedGiftCardId",
                                   "relatedCouponId", "relatedBatchId", "createdAt")
select p.user_id, p.amount, p.kind,
       case p.kind
         when 'purchase' then
           (array['Starter pack (100 credits)', 'Pro pack (500 credits)', 'Premium pack (1200 credits)',
                  'Mini pack (50 credits, legacy)'])[p.note]
         when 'coupon' then 'Coupon ' || (select array_agg(code order by id) from seed_coupon)[p.coupon_id]
         when 'gift_card' then 'Gift card ending ' || right(pg_temp.gift_code(p.gift_card_id), 4)
         when 'training' then 'Model training'
         when 'generation' then
           -- images 4..20 in steps of 4; note = credits per image (2 = HD)
           (array['Generated 4 photos', 'Generated 8 photos', 'Generated 12 photos',
                  'Generated 16 photos', 'Generated 20 photos', 'Generated 4 HD photos',
                  'Generated 8 HD photos', 'Generated 12 HD photos', 'Generated 16 HD photos',
                  'Generated 20 HD photos'])[p.images / 4 + 5 * (p.note - 1)]
         when 'refund' then
           case when p.note = 1 then 'Partial refund: batch failed' else 'Refund: batch failed' end
         when 'admin_adjustment' then
           (array['goodwill: slow generation', 'goodwill: failed batch', 'support: outage compensation',
                  'support: feedback survey bonus', 'goodwill: failed training'])[p.note]
       end,
       p.tx_id,
       -- a batch with photos: its charge points at the first one
       case when p.kind = 'generation' and p.batch_status = 'c' and pg_temp.has_photos(p.user_id)
            then (select cv.photo_id from seed_cover cv where cv.batch_id = p.batch_id) end,
       -- the model link is the training's; a batch names its model itself
       case when p.kind = 'training' then p.model_id end,
       p.gift_card_id, p.coupon_id, p.batch_id, p.t
from seed_plan p;
