-- Photos of completed batches (4 per reference image, same options as the
-- batch), for the users pg_temp.has_photos() picks.
insert into public.photos (id, "userId", "modelId", "imageUrl", prompt, "createdAt", "creditsUsed",
                           "aspectRatio", glasses, "hairColor", "hairStyle", backgrounds, styles,
                           "referenceImageId", "downloadCount", "isFavorite", "generationBatchId")
select s.id, s."userId", s."modelId",
       format('https://cdn.example.com/u/%s/p/%s.jpg', s."userId", s.id),
       format('%s portrait, %s background', s.styles ->> 0, s.backgrounds ->> 0),
       s."completedAt" - interval '1 second' * (s."totalImagesGenerated" - s.n),
       s."creditsUsed" / s."totalImagesGenerated",
       s."aspectRatio", s.glasses, s."hairColor", s."hairStyle", s.backgrounds, s.styles,
       -- each reference image (4 photos) is one of the 30 examples
       1 + floor(pg_temp.rnd(s.batch_id, (s.n - 1) / 4, 100) * 30)::int,
       floor(pg_temp.rnd(s.batch_id, s.n, 101) ^ 3 * 8)::int,
       pg_temp.rnd(s.batch_id, s.n, 102) < 0.08,
       s.batch_id
from (
  select nextval(pg_temp.seq('public.photos'))::int as id, b.id as batch_id, n.n,
         b."userId", b."modelId", b."completedAt", b."totalImagesGenerated", b."creditsUsed",
         b."aspectRatio", b.glasses, b."hairColor", b."hairStyle", b.backgrounds, b.styles
  from public.photo_generation_batches b
  cross join lateral generate_series(1, b."totalImagesGenerated") as n(n)
  where b.status = 'completed'
    and pg_temp.has_photos(b."userId")
  offset 0
) s;

-- The first photo of each batch: its generation charge points at it.
create temp table seed_cover on commit drop as
select "generationBatchId" as batch_id, min(id) as photo_id
from public.photos
group by "generationBatchId";

alter table seed_cover add primary key (batch_id);
