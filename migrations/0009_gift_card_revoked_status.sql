-- Decision: gift cards can be revoked. A new enum value can't be used in the
-- transaction that adds it, so it has a migration of its own.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

alter type public.gift_card_status add value if not exists 'revoked' after 'expired';
