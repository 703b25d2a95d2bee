-- A generation batch for every planned generation charge. Options are drawn
-- from the batch id; a completed batch finished 40 s to 6 min after it began.
insert into public.photo_generation_batches (id, "userId", "modelId", "totalImagesGenerated", "creditsUsed",
                                             "aspectRatio", glasses, "hairColor", "hairStyle", backgrounds,
                                             styles, status, "createdAt", "completedAt")
select p.batch_id, p.user_id, p.model_id, p.images, -p.amount,
       pg_temp.pick(array['1:1', '1:1', '1:1', '9:16', '9:16', '16:9'], pg_temp.rnd(p.batch_id, 0, 90)),
       case when pg_temp.rnd(p.batch_id, 0, 91) < 0.18 then 'yes' else 'no' end,
       pg_temp.pick(array['default', 'default', 'default', 'black', 'brown', 'blonde', 'red'],
                    pg_temp.rnd(p.batch_id, 0, 92)),
       pg_temp.pick(array['no-preference', 'no-preference', 'short', 'medium', 'long', 'curly'],
                    pg_temp.rnd(p.batch_id, 0, 93)),
       -- 1 background (35%), 2 (45%) or 3 (20%); 1 style (60%) or 2
       (pg_temp.background_sets())[
         case when pg_temp.rnd(p.batch_id, 0, 94) < 0.35 then 1 + floor(pg_temp.rnd(p.batch_id, 0, 95) * 8)
              when pg_temp.rnd(p.batch_id, 0, 94) < 0.80 then 9 + floor(pg_temp.rnd(p.batch_id, 0, 95) * 28)
              else 37 + floor(pg_temp.rnd(p.batch_id, 0, 95) * 56) end::int],
       (pg_temp.style_sets())[
         case when pg_temp.rnd(p.batch_id, 0, 96) < 0.6 then 1 + floor(pg_temp.rnd(p.batch_id, 0, 97) * 7)
              else 8 + floor(pg_temp.rnd(p.batch_id, 0, 97) * 21) end::int],
       case p.batch_status when 'c' then 'completed' when 'f' then 'failed' else 'generating' end,
       p.t,
       case when p.batch_status = 'c'
            then least(now(), p.t + interval '40 seconds' + interval '320 seconds' * pg_temp.rnd(p.batch_id, 0, 98))
       end
from seed_plan p
where p.kind = 'generation';
