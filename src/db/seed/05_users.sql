-- Users, with the balance their planned ledger adds up to
-- (users.credits = sum(credit_history.amount) for every user).
insert into public.users (id, email, name, credits, "createdAt")
select u.id, u.email, u.name, coalesce(b.balance, 0), u.created_at
from seed_user u
left join (select user_id, sum(amount)::int as balance from seed_plan group by user_id) b
  on b.user_id = u.id;
