-- The rules widened in 0035, validated (the tables are creditdesk's own and small).
set local lock_timeout = '3s';
set local statement_timeout = '60s';

alter table creditdesk.approval_requests validate constraint approval_requests_kind_check;
alter table creditdesk.settings validate constraint settings_key_check;
