-- Decision: users already hold credits when the ledger appears. One
-- admin_adjustment "opening balance" entry per user makes
-- users.credits = sum(credit_history.amount) hold from day one.
insert into public.credit_history ("userId", amount, type, description)
select u.id, u.credits - coalesce(l.total, 0), 'admin_adjustment', 'opening balance'
from public.users u
left join (select "userId", sum(amount) as total from public.credit_history group by "userId") l
  on l."userId" = u.id
where u.credits - coalesce(l.total, 0) <> 0;
