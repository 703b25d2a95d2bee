-- Models, one per planned training entry (its cost is trainingCreditsUsed),
-- each with 1 to 5 training images.
insert into public.models (id, "userId", name, status, "createdAt", gender, "previewImageUrl",
                           "trainingCreditsUsed", "imagesCount")
select p.model_id,
       p.user_id,
       pg_temp.pick(array['Headshots', 'LinkedIn', 'Me', 'Portraits', 'Casual', 'Work photos',
                          'Dating profile', 'Summer look', 'New haircut', 'Studio'],
                    pg_temp.rnd(p.model_id, 0, 60)),
       case when u.failed_model then 'failed' else 'ready' end,
       p.t,
       -- mostly the user's own gender; sometimes a model of a partner or friend
       case when pg_temp.rnd(p.model_id, 0, 61) < 0.9 then u.gender
            when u.gender = 'mujer' then 'hombre' else 'mujer' end,
       case when not u.failed_model
            then format('https://cdn.example.com/u/%s/m/%s/preview.jpg', p.user_id, p.model_id) end,
       -p.amount,
       1 + floor(pg_temp.rnd(p.model_id, 0, 62) * 5)::int
from seed_plan p
join seed_user u on u.id = p.user_id
where p.kind = 'training';

insert into public.model_training_images ("modelId", "imageUrl", "imageOrder", "fileSize", "fileName",
                                          "createdAt")
select m.id,
       format('https://cdn.example.com/u/%s/m/%s/train-%s.jpg', m."userId", m.id, n),
       n,
       (400000 + pg_temp.rnd(m.id, n, 63) * 3600000)::int,
       format('IMG_%s.jpg', 1000 + floor(pg_temp.rnd(m.id, n, 64) * 9000)::int),
       -- uploaded just before the training started
       m."createdAt" - interval '1 minute' * (6 - n)
from public.models m
cross join lateral generate_series(1, m."imagesCount") as n;
