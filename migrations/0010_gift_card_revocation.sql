-- Decision: who revoked a gift card, when and why. Only pending and active
-- cards are revoked (checked under a row lock); the columns are all set
-- exactly when the status is 'revoked'.
set local lock_timeout = '3s';
set local statement_timeout = '60s';

alter table public.gift_cards
  add column if not exists "revokedAt" timestamptz,
  add column if not exists "revokedBy" text,
  add column if not exists "revokeReason" text;
alter table public.gift_cards
  add constraint gift_cards_revocation_check check (
    (status = 'revoked') = ("revokedAt" is not null)
    and (status <> 'revoked' or (nullif(btrim("revokedBy"), '') is not null
                                 and nullif(btrim("revokeReason"), '') is not null))) not valid;
