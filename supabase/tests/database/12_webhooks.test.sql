-- Webhooks in SQL: the outbox write (internal.record_webhook_event), the endpoint limit, delete
-- cancelling what is pending, the dispatcher's claim (leases, 5 in flight per endpoint, round
-- robin), record_webhook_attempt's schedule and its 410, stale reports, and retention.
-- Called as service_role, the role PostgREST uses in production; checked as the owner afterwards.
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(42);
grant usage on schema tap to service_role;

-- The internal schema is the functions' own: no client role may even look in it.
select ok(not has_schema_privilege('anon', 'internal', 'usage'), 'anon cannot use schema internal');
select ok(not has_schema_privilege('authenticated', 'internal', 'usage'),
  'authenticated cannot use schema internal');
select ok(has_function_privilege('service_role', 'internal.record_webhook_event(uuid, text, json)', 'execute'),
  'service_role may record an event (the endpoint functions run as it)');
select ok(not has_function_privilege('anon', 'public.claim_webhook_deliveries(integer, integer, timestamptz)', 'execute'),
  'anon cannot claim deliveries');
select ok(not has_function_privilege('authenticated', 'public.record_webhook_attempt(uuid, integer, integer, integer, text, text, integer, timestamptz)', 'execute'),
  'authenticated cannot record attempts');

-- Fixture: org A with endpoints E1, E2 (both types, active), E3 (linked only, inactive), E4
-- (unlinked only), E5 (deleted); org B with one endpoint, linked only. Key 'wa' (webhooks:write),
-- A's; org C has no endpoint.
insert into public.orgs (id, name, plan, max_webhook_endpoints) values
  ('0fe10000-0000-4000-8000-00000000000a', 'Hooks A', 'pro', 6),
  ('0fe10000-0000-4000-8000-00000000000b', 'Hooks B', 'pro', null),
  ('0fe10000-0000-4000-8000-00000000000c', 'Hooks C', 'pro', null);
insert into public.webhook_endpoints (id, org_id, url, events, secret, active, deleted_at) values
  ('e1000000-0000-4000-8000-000000000001', '0fe10000-0000-4000-8000-00000000000a', 'https://a.example.com/1',
   '{company.contacts_linked,company.contacts_unlinked}', 'whenc_v1.t.' || encode(sha256('a1'), 'hex'), true, null),
  ('e1000000-0000-4000-8000-000000000002', '0fe10000-0000-4000-8000-00000000000a', 'https://a.example.com/2',
   '{company.contacts_linked,company.contacts_unlinked}', 'whenc_v1.t.' || encode(sha256('a2'), 'hex'), true, null),
  ('e1000000-0000-4000-8000-000000000003', '0fe10000-0000-4000-8000-00000000000a', 'https://a.example.com/3',
   '{company.contacts_linked}', 'whenc_v1.t.' || encode(sha256('a3'), 'hex'), false, null),
  ('e1000000-0000-4000-8000-000000000004', '0fe10000-0000-4000-8000-00000000000a', 'https://a.example.com/4',
   '{company.contacts_unlinked}', 'whenc_v1.t.' || encode(sha256('a4'), 'hex'), true, null),
  ('e1000000-0000-4000-8000-000000000005', '0fe10000-0000-4000-8000-00000000000a', 'https://a.example.com/5',
   '{company.contacts_linked}', 'whenc_v1.t.' || encode(sha256('a5'), 'hex'), false, now()),
  ('e1000000-0000-4000-8000-0000000000b1', '0fe10000-0000-4000-8000-00000000000b', 'https://b.example.com/1',
   '{company.contacts_linked}', 'whenc_v1.t.' || encode(sha256('b1'), 'hex'), true, null);
insert into public.api_keys (org_id, key_hash, prefix, permissions) values
  ('0fe10000-0000-4000-8000-00000000000a', encode(sha256('wa'), 'hex'), 'wbk_wa', '{webhooks:write}');

set local role service_role;

-- The outbox write: nothing for an org with no endpoint subscribed; otherwise one event and one
-- delivery per active, undeleted endpoint subscribed to the type.
select is(internal.record_webhook_event('0fe10000-0000-4000-8000-00000000000c', 'company.contacts_linked', '{"n": 1}'),
  null, 'no endpoint: no event');
select is(internal.record_webhook_event('0fe10000-0000-4000-8000-00000000000b', 'company.contacts_unlinked', '{"n": 1}'),
  null, 'no endpoint subscribed to the type: no event');
select is((select count(*)::int from public.webhook_events
           where org_id in ('0fe10000-0000-4000-8000-00000000000b', '0fe10000-0000-4000-8000-00000000000c')),
  0, 'nothing written for them');
create temp table hook_event on commit drop as
  select internal.record_webhook_event('0fe10000-0000-4000-8000-00000000000a', 'company.contacts_linked',
    '{"company_id": "c", "contact_ids": ["x"], "count": 1}') as id;
select set_eq(
  $$select endpoint_id from public.webhook_deliveries where event_id = (select id from hook_event)$$,
  $$values ('e1000000-0000-4000-8000-000000000001'::uuid), ('e1000000-0000-4000-8000-000000000002'::uuid)$$,
  'a delivery for each active endpoint subscribed to the type, and only those');
select matches(
  (select body from public.webhook_events where id = (select id from hook_event)),
  '^\{"type" : "company\.contacts_linked", "timestamp" : "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", "data" : \{"company_id": "c", "contact_ids": \["x"\], "count": 1\}\}$',
  'the body: type, timestamp, then the data as the caller wrote it');

-- The claim: 7 more due for E1 (8 in all); 5 in flight at most per endpoint; E2's first before
-- anyone's second.
reset role;
insert into public.webhook_deliveries (org_id, event_id, endpoint_id, next_attempt_at)
  select '0fe10000-0000-4000-8000-00000000000a', (select id from hook_event), 'e1000000-0000-4000-8000-000000000001',
         now() - make_interval(secs => g)
  from generate_series(1, 7) g;
set local role service_role;
select is(jsonb_array_length(public.claim_webhook_deliveries(p_limit => 2)), 2, 'a claim takes at most p_limit');
create temp table hook_first on commit drop as
  select d.id from public.webhook_deliveries d
  where d.endpoint_id = 'e1000000-0000-4000-8000-000000000002' and d.locked_until > now();
select is((select count(*)::int from hook_first), 1,
  'round robin: the other endpoint''s oldest was among the two');
select is(jsonb_array_length(public.claim_webhook_deliveries(p_limit => 50)), 4,
  'then E1 fills its 5 in flight, and no more');
select is(jsonb_array_length(public.claim_webhook_deliveries(p_limit => 50)), 0,
  'leased deliveries are not claimed again');

-- record_webhook_attempt: a 500 on the first attempt waits about 5 s.
select is(
  public.record_webhook_attempt((select id from hook_first), 1, 500, 12, 'http_status', 'oops'),
  '{"status": "pending"}'::jsonb, 'a 500: still pending');
select ok(
  (select next_attempt_at between now() + interval '4.5 seconds' and now() + interval '5.5 seconds'
   from public.webhook_deliveries where id = (select id from hook_first)),
  'retried 5 s later, give or take 10%');
select is(
  (select locked_until from public.webhook_deliveries where id = (select id from hook_first)),
  null, 'its lease ends with the report');
select is(
  public.record_webhook_attempt((select id from hook_first), 7, 200, 12),
  '{"status": "pending"}'::jsonb, 'a report for an attempt that is not the delivery''s: kept, nothing else');
select is(
  (select count(*)::int from public.webhook_attempts where delivery_id = (select id from hook_first)),
  2, 'both reports are kept as attempts');
select is(
  (select last_delivery_status from public.webhook_endpoints where id = 'e1000000-0000-4000-8000-000000000002'),
  'failed', 'the endpoint shows its last delivery failed');

-- A minute on: E1's leases ran out (its 5 again, of 8) and E2's retry is due.
select is(jsonb_array_length(public.claim_webhook_deliveries(p_limit => 50, p_now => now() + interval '61 seconds')), 6,
  'leases that ran out are claimed again, 5 per endpoint at most');
select is(
  (select max(attempts) from public.webhook_deliveries where endpoint_id = 'e1000000-0000-4000-8000-000000000001'),
  2, 'each claim counts an attempt');

-- 429 with Retry-After waits at least that long.
select is(public.record_webhook_attempt((select id from hook_first), 2, 429, 3, 'http_status', null, 3600),
  '{"status": "pending"}'::jsonb, 'a 429: pending');
select ok(
  (select next_attempt_at >= now() + interval '1 hour' from public.webhook_deliveries where id = (select id from hook_first)),
  'a 429 with Retry-After: 3600 waits an hour, not 5 minutes');

-- The 8th failure is the last.
update public.webhook_deliveries set attempts = 8 where id = (select id from hook_first);
select is(public.record_webhook_attempt((select id from hook_first), 8, null, 10000, 'timeout'),
  '{"status": "failed"}'::jsonb, 'after the 8th attempt: failed');

-- 410: the delivery failed and the endpoint is turned off, gone.
create temp table hook_gone on commit drop as
  select d.id, d.attempts from public.webhook_deliveries d
  where d.endpoint_id = 'e1000000-0000-4000-8000-000000000001' and d.locked_until is not null
  limit 1;
select is(public.record_webhook_attempt((select id from hook_gone), (select attempts from hook_gone), 410, 5),
  '{"status": "failed"}'::jsonb, 'a 410: failed at once');
select is(
  (select row(active, disabled_reason)::text from public.webhook_endpoints where id = 'e1000000-0000-4000-8000-000000000001'),
  '(f,gone)', 'a 410 turns the endpoint off: gone');
select is(jsonb_array_length(public.claim_webhook_deliveries(p_limit => 50, p_now => now() + interval '1 day')), 0,
  'an endpoint turned off gets nothing claimed');

-- Deleting an endpoint cancels its pending deliveries; the others keep theirs.
select is(public.delete_webhook(encode(sha256('wa'), 'hex'), 'e1000000-0000-4000-8000-000000000001')->>'outcome',
  'ok', 'delete_webhook: ok');
select is(
  (select count(*)::int from public.webhook_deliveries
   where endpoint_id = 'e1000000-0000-4000-8000-000000000001' and status = 'pending'),
  0, 'its pending deliveries are cancelled');
select ok(
  (select count(*) > 0 from public.webhook_deliveries
   where endpoint_id = 'e1000000-0000-4000-8000-000000000001' and status = 'cancelled'),
  'cancelled, not deleted: its history stays');

-- Secrets are stored encrypted (the gateway encrypts them): one in the clear is refused, by
-- create, rotate and a direct write alike; on a new database the constraints hold for every row.
select is(
  (select count(*)::int from pg_catalog.pg_constraint
   where conrelid = 'public.webhook_endpoints'::regclass and convalidated
     and conname in ('webhook_endpoints_secret_check', 'webhook_endpoints_previous_secret_check')),
  2, 'both secret constraints are validated');
select throws_ok(
  $$select public.create_webhook(encode(sha256('wa'), 'hex'), 'https://a.example.com/p',
      '{company.contacts_linked}', 'whsec_' || encode(sha256('p'), 'base64'))$$,
  '23514', null, 'create_webhook refuses a secret in the clear');
select throws_ok(
  $$select public.rotate_webhook_secret(encode(sha256('wa'), 'hex'),
      'e1000000-0000-4000-8000-000000000002', 'whsec_' || encode(sha256('p'), 'base64'))$$,
  '23514', null, 'rotate_webhook_secret refuses a secret in the clear');
reset role;
select throws_ok(
  $$update public.webhook_endpoints set previous_secret = 'whsec_' || encode(sha256('p'), 'base64')
    where id = 'e1000000-0000-4000-8000-000000000002'$$,
  '23514', null, 'nor can the owner write one in the clear');
set local role service_role;

-- The limit counts endpoints not deleted: A has E2, E3, E4 left (E1, E5 deleted), at most 6.
select is(
  (select count(*)::int from (
     select public.create_webhook(encode(sha256('wa'), 'hex'), 'https://a.example.com/n' || g,
       '{company.contacts_linked}', 'whenc_v1.t.' || encode(sha256(('n' || g)::bytea), 'hex'))->>'outcome' as outcome
     from generate_series(1, 4) g) made
   where outcome = 'ok'),
  3, 'three more make six');
select is(
  public.create_webhook(encode(sha256('wa'), 'hex'), 'https://a.example.com/x', '{company.contacts_linked}', 'whenc_v1.t.' || encode(sha256('x'), 'hex'))->>'outcome',
  'webhook_limit_reached', 'the seventh: webhook_limit_reached');

-- Retention: attempts older than 30 days go, newer stay.
reset role;
select is(public.purge_webhook_history(now() + interval '29 days'), 0, 'nothing is 30 days old yet');
select ok(public.purge_webhook_history(now() + interval '31 days') >= 5, 'attempts 30 days old are purged');
select is((select count(*)::int from public.webhook_attempts
           where org_id = '0fe10000-0000-4000-8000-00000000000a'), 0, 'none of A''s attempts is left');

-- A deleted org's events go at the next purge, whatever their age (events keep no foreign key to
-- orgs, so that a change's transaction does not lock its org's row).
select isnt(internal.record_webhook_event('0fe10000-0000-4000-8000-00000000000b', 'company.contacts_linked', '{"n": 2}'),
  null, 'org B gets an event');
delete from public.orgs where id = '0fe10000-0000-4000-8000-00000000000b';
select public.purge_webhook_history();
select is((select count(*)::int from public.webhook_events where org_id = '0fe10000-0000-4000-8000-00000000000b'),
  0, 'a deleted org''s events are purged');

select * from finish();
rollback;
