-- Decision: users already hold credits when the ledger appears. One
-- admin_adjustment "opening balance" entry per user makes
-- users.credits = sum(credit_history.amount) hold from day one. (A null
-- balance, which the app's table may allow, counts as zero.)
set local lock_timeout = '3s';
set local statement_timeout = '600s';

insert into public.credit_history ("userId", amount, type, description)
select u.id, coalesce(u.credits, 0) - coalesce(l.total, 0), 'admin_adjustment', 'opening balance'
from public.users u
left join (select "userId", sum(amount) as total from public.credit_history group by "userId") l
  on l."userId" = u.id
where coalesce(u.credits, 0) - coalesce(l.total, 0) <> 0;
