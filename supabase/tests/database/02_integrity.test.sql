-- Constraints and defaults, exercised with real rows (as the table owner).
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(69);

-- Fixed ids for this file.
--   org A 0f1a0000-0000-4000-8000-000000000001, org B 0f1b0000-0000-4000-8000-000000000002
--   companies A1 c01a0000-...-01, A2 c01a0000-...-02, B1 c01b0000-...-01
--   contacts A  ca1a0000-...-0N, contact B ca1b0000-...-01

-- A row can be written with only the DESIGN.md columns; ids and timestamps come from defaults -----
select lives_ok(
  $$insert into public.orgs (name) values ('Defaults Org')$$,
  'an org can be inserted with only its name'
);
select results_eq(
  $$select id is not null, plan, created_at = now() from public.orgs where name = 'Defaults Org'$$,
  $$values (true, 'starter'::text, true)$$,
  'a new org gets an id, plan ''starter'' and created_at = now()'
);

insert into public.orgs (id, name, plan) values
  ('0f1a0000-0000-4000-8000-000000000001', 'Org A', 'pro'),
  ('0f1b0000-0000-4000-8000-000000000002', 'Org B', 'org');

select lives_ok(
  $$insert into public.api_keys (org_id, name, key_hash, prefix, permissions, expires_at, revoked_at, last_used_at)
    values ('0f1a0000-0000-4000-8000-000000000001', 'defaults key', repeat('0', 64), 'wbk_00000000',
            array['contacts:write'], null, null, null)$$,
  'an api key can be inserted with only the DESIGN.md columns'
);
select results_eq(
  $$select id is not null, created_at = now() from public.api_keys where key_hash = repeat('0', 64)$$,
  $$values (true, true)$$,
  'a new api key gets an id and created_at = now()'
);
select lives_ok(
  $$insert into public.companies (org_id, name, domain)
    values ('0f1a0000-0000-4000-8000-000000000001', 'Defaults Co', 'defaults.example')$$,
  'a company can be inserted with only the DESIGN.md columns'
);
select results_eq(
  $$select id is not null, created_at = now(), updated_at = now() from public.companies where name = 'Defaults Co'$$,
  $$values (true, true, true)$$,
  'a new company gets an id, created_at = now() and updated_at = now()'
);
select lives_ok(
  $$insert into public.contacts (org_id, company_id, full_name, email)
    values ('0f1a0000-0000-4000-8000-000000000001', null, 'Default Person', 'default@example.com')$$,
  'a contact can be inserted with only the DESIGN.md columns'
);
select results_eq(
  $$select id is not null, created_at = now(), updated_at = now() from public.contacts where email = 'default@example.com'$$,
  $$values (true, true, true)$$,
  'a new contact gets an id, created_at = now() and updated_at = now()'
);
select lives_ok(
  $$insert into public.contacts (org_id) values ('0f1a0000-0000-4000-8000-000000000001')$$,
  'a contact needs nothing but its org'
);

-- orgs.plan: a row of plans (starter / pro / org as migrated), nothing else -------------------------
select lives_ok($$insert into public.orgs (name, plan) values ('p1', 'starter')$$, 'plan ''starter'' is accepted');
select lives_ok($$insert into public.orgs (name, plan) values ('p2', 'pro')$$, 'plan ''pro'' is accepted');
select lives_ok($$insert into public.orgs (name, plan) values ('p3', 'org')$$, 'plan ''org'' is accepted');
select throws_ok($$insert into public.orgs (name, plan) values ('p4', 'enterprise')$$, '23503', null, 'plan ''enterprise'' is rejected (foreign_key_violation: no such plan)');
select throws_ok($$insert into public.orgs (name, plan) values ('p5', 'Pro')$$, '23503', null, 'plan values are case-sensitive (''Pro'' is rejected)');
select throws_ok($$insert into public.orgs (name, plan) values ('p6', '')$$, '23503', null, 'an empty plan is rejected');
select throws_ok($$insert into public.orgs (name, plan) values ('p7', null)$$, '23502', null, 'a null plan is rejected (not_null_violation)');
select throws_ok(
  $$update public.orgs set plan = 'free' where id = '0f1a0000-0000-4000-8000-000000000001'$$,
  '23503', null, 'an org cannot be updated to an unknown plan'
);

-- plans: a new plan is a row; a plan in use cannot be deleted; a rename follows into orgs -----------
select lives_ok(
  $$insert into public.plans (name, requests_per_day, requests_per_minute) values ('enterprise', 50000, 500)$$,
  'a new plan is one row in plans'
);
select lives_ok($$insert into public.orgs (name, plan) values ('p8', 'enterprise')$$, 'an org can then use the new plan');
select throws_ok($$delete from public.plans where name = 'enterprise'$$, '23503', null, 'a plan an org uses cannot be deleted');
select lives_ok($$update public.plans set name = 'enterprise-2027' where name = 'enterprise'$$, 'a plan in use can be renamed');
select is(
  (select plan from public.orgs where name = 'p8'),
  'enterprise-2027',
  'renaming a plan renames it in orgs too (on update cascade)'
);
select throws_ok($$insert into public.plans (name, requests_per_day, requests_per_minute) values ('pro', 1, 1)$$, '23505', null, 'plan names are unique');
select throws_ok($$insert into public.plans (name, requests_per_day, requests_per_minute) values ('neg-day', -1, 1)$$, '23514', null, 'a negative requests_per_day is rejected');
select throws_ok($$insert into public.plans (name, requests_per_day, requests_per_minute) values ('neg-minute', 1, -1)$$, '23514', null, 'a negative requests_per_minute is rejected');
select throws_ok($$insert into public.plans (name, requests_per_day, requests_per_minute) values ('no-day', null, 1)$$, '23502', null, 'a plan needs requests_per_day');
select throws_ok($$insert into public.plans (name, requests_per_day, requests_per_minute) values ('no-minute', 1, null)$$, '23502', null, 'a plan needs requests_per_minute');
select lives_ok($$insert into public.plans (name, requests_per_day, requests_per_minute) values ('suspended', 0, 0)$$, 'a plan of 0 requests is allowed (it refuses everything)');

-- orgs.rate_limit_per_day / _per_minute: null (the plan's) or >= 0 ----------------------------------
select results_eq(
  $$select rate_limit_per_day, rate_limit_per_minute from public.orgs where name = 'Defaults Org'$$,
  $$values (null::int, null::int)$$,
  'a new org has no overrides (both null: the plan''s limits)'
);
select lives_ok(
  $$update public.orgs set rate_limit_per_day = 0, rate_limit_per_minute = 0 where name = 'p1'$$,
  'overrides of 0 are accepted (a suspended org)'
);
select lives_ok(
  $$update public.orgs set rate_limit_per_day = 2000000, rate_limit_per_minute = 100000 where name = 'p2'$$,
  'overrides above the plan''s limits are accepted'
);
select throws_ok($$update public.orgs set rate_limit_per_day = -1 where name = 'p3'$$, '23514', null, 'a negative rate_limit_per_day is rejected');
select throws_ok($$update public.orgs set rate_limit_per_minute = -1 where name = 'p3'$$, '23514', null, 'a negative rate_limit_per_minute is rejected');

-- api_usage: one row per existing org and day, counts never negative ---------------------------------
select lives_ok(
  $$insert into public.api_usage (org_id, day, day_used, minute, minute_used)
    values ('0f1a0000-0000-4000-8000-000000000001', '2030-01-15', 1, '2030-01-15 12:00:00+00', 1),
           ('0f1a0000-0000-4000-8000-000000000001', '2030-01-14', 7, '2030-01-14 23:59:00+00', 2),
           ('0f1b0000-0000-4000-8000-000000000002', '2030-01-15', 3, '2030-01-15 12:00:00+00', 3)$$,
  'usage rows for two days of org A and one of org B are accepted'
);
select throws_ok(
  $$insert into public.api_usage (org_id, day, day_used, minute, minute_used)
    values ('0f1a0000-0000-4000-8000-000000000001', '2030-01-15', 1, '2030-01-15 12:01:00+00', 1)$$,
  '23505', null, 'a second usage row for the same org and day is rejected'
);
select throws_ok(
  $$insert into public.api_usage (org_id, day, day_used, minute, minute_used)
    values ('0fff0000-0000-4000-8000-00000000ffff', '2030-01-15', 1, '2030-01-15 12:00:00+00', 1)$$,
  '23503', null, 'a usage row must belong to an existing org'
);
select throws_ok(
  $$update public.api_usage set day_used = -1 where org_id = '0f1b0000-0000-4000-8000-000000000002'$$,
  '23514', null, 'a negative day_used is rejected'
);
select throws_ok(
  $$update public.api_usage set minute_used = -1 where org_id = '0f1b0000-0000-4000-8000-000000000002'$$,
  '23514', null, 'a negative minute_used is rejected'
);
select throws_ok(
  $$insert into public.api_usage (org_id, day) values ('0f1b0000-0000-4000-8000-000000000002', '2030-01-16')$$,
  '23502', null, 'a usage row needs its counts and minute (no defaults)'
);

-- api_keys.key_hash: 64 lowercase hex characters, unique ---------------------------------------------
select lives_ok(
  $$insert into public.api_keys (org_id, key_hash) values ('0f1a0000-0000-4000-8000-000000000001', repeat('ab', 32))$$,
  'a 64-character lowercase hex key_hash is accepted'
);
select throws_ok(
  $$insert into public.api_keys (org_id, key_hash) values ('0f1b0000-0000-4000-8000-000000000002', repeat('ab', 32))$$,
  '23505', null, 'a duplicate key_hash is rejected (unique_violation), even in another org'
);
select throws_ok(
  $$insert into public.api_keys (org_id, key_hash) values ('0f1a0000-0000-4000-8000-000000000001', repeat('AB', 32))$$,
  '23514', null, 'an uppercase hex key_hash is rejected'
);
select throws_ok(
  $$insert into public.api_keys (org_id, key_hash) values ('0f1a0000-0000-4000-8000-000000000001', repeat('c', 63))$$,
  '23514', null, 'a 63-character key_hash is rejected'
);
select throws_ok(
  $$insert into public.api_keys (org_id, key_hash) values ('0f1a0000-0000-4000-8000-000000000001', repeat('c', 65))$$,
  '23514', null, 'a 65-character key_hash is rejected'
);
select throws_ok(
  $$insert into public.api_keys (org_id, key_hash) values ('0f1a0000-0000-4000-8000-000000000001', repeat('c', 63) || 'g')$$,
  '23514', null, 'a key_hash with a non-hex character is rejected'
);
select throws_ok(
  $$insert into public.api_keys (org_id, key_hash) values ('0f1a0000-0000-4000-8000-000000000001', repeat('d', 64) || E'\n')$$,
  '23514', null, 'a key_hash with a trailing newline is rejected'
);
select throws_ok(
  $$insert into public.api_keys (org_id, key_hash) values ('0f1a0000-0000-4000-8000-000000000001', 'wbk_' || repeat('e', 60))$$,
  '23514', null, 'a plaintext-looking key cannot be stored as key_hash'
);
select throws_ok(
  $$insert into public.api_keys (org_id, key_hash) values ('0f1a0000-0000-4000-8000-000000000001', null)$$,
  '23502', null, 'a null key_hash is rejected'
);
select throws_ok(
  $$insert into public.api_keys (org_id, key_hash) values ('0fff0000-0000-4000-8000-00000000ffff', repeat('f', 64))$$,
  '23503', null, 'an api key must belong to an existing org'
);

-- Companies, contacts and the composite foreign key ----------------------------------------------------
insert into public.companies (id, org_id, name) values
  ('c01a0000-0000-4000-8000-000000000001', '0f1a0000-0000-4000-8000-000000000001', 'A1'),
  ('c01a0000-0000-4000-8000-000000000002', '0f1a0000-0000-4000-8000-000000000001', 'A2'),
  ('c01b0000-0000-4000-8000-000000000001', '0f1b0000-0000-4000-8000-000000000002', 'B1');

insert into public.contacts (id, org_id, company_id, full_name, updated_at) values
  ('ca1a0000-0000-4000-8000-000000000001', '0f1a0000-0000-4000-8000-000000000001', 'c01a0000-0000-4000-8000-000000000001', 'a1 of A1', '2001-01-01 00:00:00+00'),
  ('ca1a0000-0000-4000-8000-000000000002', '0f1a0000-0000-4000-8000-000000000001', 'c01a0000-0000-4000-8000-000000000001', 'a2 of A1', '2001-01-01 00:00:00+00'),
  ('ca1a0000-0000-4000-8000-000000000003', '0f1a0000-0000-4000-8000-000000000001', 'c01a0000-0000-4000-8000-000000000002', 'a3 of A2', '2001-01-01 00:00:00+00'),
  ('ca1a0000-0000-4000-8000-000000000004', '0f1a0000-0000-4000-8000-000000000001', null, 'a4 without company', '2001-01-01 00:00:00+00'),
  ('ca1b0000-0000-4000-8000-000000000001', '0f1b0000-0000-4000-8000-000000000002', 'c01b0000-0000-4000-8000-000000000001', 'b1 of B1', '2001-01-01 00:00:00+00');

select throws_ok(
  $$insert into public.companies (id, org_id, name)
    values ('c01a0000-0000-4000-8000-000000000001', '0f1b0000-0000-4000-8000-000000000002', 'dup id')$$,
  '23505', null, 'a company id is unique across orgs'
);
select throws_ok(
  $$insert into public.companies (org_id, name) values ('0fff0000-0000-4000-8000-00000000ffff', 'orphan')$$,
  '23503', null, 'a company must belong to an existing org'
);
select throws_ok(
  $$insert into public.contacts (org_id, full_name) values ('0fff0000-0000-4000-8000-00000000ffff', 'orphan')$$,
  '23503', null, 'a contact must belong to an existing org'
);

-- A contact can never point at another org's company, whatever the code above does (here: the table
-- owner writing directly).
select is(
  current_user::text,
  (select relowner::regrole::text from pg_class where oid = 'public.contacts'::regclass),
  'the writes below run as the owner of public.contacts'
);
select throws_ok(
  $$update public.contacts set company_id = 'c01b0000-0000-4000-8000-000000000001'
    where id = 'ca1a0000-0000-4000-8000-000000000004'$$,
  '23503', null, 'UPDATE as the table owner cannot point a contact at another org''s company'
);
select throws_ok(
  $$insert into public.contacts (org_id, company_id, full_name)
    values ('0f1a0000-0000-4000-8000-000000000001', 'c01b0000-0000-4000-8000-000000000001', 'sneaky')$$,
  '23503', null, 'INSERT as the table owner cannot create a contact pointing at another org''s company'
);
select throws_ok(
  $$update public.contacts set org_id = '0f1b0000-0000-4000-8000-000000000002'
    where id = 'ca1a0000-0000-4000-8000-000000000001'$$,
  '23503', null, 'moving a linked contact to another org (keeping its company) is rejected'
);
select throws_ok(
  $$update public.companies set org_id = '0f1b0000-0000-4000-8000-000000000002'
    where id = 'c01a0000-0000-4000-8000-000000000001'$$,
  '23503', null, 'moving a company that has contacts to another org is rejected'
);
select throws_ok(
  $$update public.contacts set company_id = 'c0ff0000-0000-4000-8000-00000000ffff'
    where id = 'ca1a0000-0000-4000-8000-000000000004'$$,
  '23503', null, 'a contact cannot point at a company that does not exist'
);
select lives_ok(
  $$update public.contacts set company_id = 'c01a0000-0000-4000-8000-000000000002'
    where id = 'ca1a0000-0000-4000-8000-000000000004'$$,
  'a contact can point at a company of its own org'
);
select lives_ok(
  $$update public.contacts set company_id = null where id = 'ca1a0000-0000-4000-8000-000000000004'$$,
  'a contact can be unlinked (company_id null)'
);
select results_eq(
  $$select id, org_id, company_id from public.contacts where org_id in ('0f1a0000-0000-4000-8000-000000000001', '0f1b0000-0000-4000-8000-000000000002') and full_name <> 'Default Person' and full_name is not null order by id$$,
  $$values
    ('ca1a0000-0000-4000-8000-000000000001'::uuid, '0f1a0000-0000-4000-8000-000000000001'::uuid, 'c01a0000-0000-4000-8000-000000000001'::uuid),
    ('ca1a0000-0000-4000-8000-000000000002'::uuid, '0f1a0000-0000-4000-8000-000000000001'::uuid, 'c01a0000-0000-4000-8000-000000000001'::uuid),
    ('ca1a0000-0000-4000-8000-000000000003'::uuid, '0f1a0000-0000-4000-8000-000000000001'::uuid, 'c01a0000-0000-4000-8000-000000000002'::uuid),
    ('ca1a0000-0000-4000-8000-000000000004'::uuid, '0f1a0000-0000-4000-8000-000000000001'::uuid, null::uuid),
    ('ca1b0000-0000-4000-8000-000000000001'::uuid, '0f1b0000-0000-4000-8000-000000000002'::uuid, 'c01b0000-0000-4000-8000-000000000001'::uuid)$$,
  'the rejected writes left every contact as it was'
);

-- Deleting a company unlinks its contacts: company_id becomes null, org_id stays, nothing else moves --
select lives_ok(
  $$delete from public.companies where id = 'c01a0000-0000-4000-8000-000000000001'$$,
  'a company with linked contacts can be deleted'
);
select results_eq(
  $$select id, org_id, company_id from public.contacts where org_id in ('0f1a0000-0000-4000-8000-000000000001', '0f1b0000-0000-4000-8000-000000000002') and full_name <> 'Default Person' and full_name is not null order by id$$,
  $$values
    ('ca1a0000-0000-4000-8000-000000000001'::uuid, '0f1a0000-0000-4000-8000-000000000001'::uuid, null::uuid),
    ('ca1a0000-0000-4000-8000-000000000002'::uuid, '0f1a0000-0000-4000-8000-000000000001'::uuid, null::uuid),
    ('ca1a0000-0000-4000-8000-000000000003'::uuid, '0f1a0000-0000-4000-8000-000000000001'::uuid, 'c01a0000-0000-4000-8000-000000000002'::uuid),
    ('ca1a0000-0000-4000-8000-000000000004'::uuid, '0f1a0000-0000-4000-8000-000000000001'::uuid, null::uuid),
    ('ca1b0000-0000-4000-8000-000000000001'::uuid, '0f1b0000-0000-4000-8000-000000000002'::uuid, 'c01b0000-0000-4000-8000-000000000001'::uuid)$$,
  'deleting company A1 nulled company_id of its contacts only, kept their org_id and deleted no contact'
);
select is(
  (select count(*) from public.companies where id = 'c01a0000-0000-4000-8000-000000000001'),
  0::bigint,
  'the deleted company is gone'
);

-- Deleting an org takes its rows with it and leaves the other org alone ---------------------------
select lives_ok(
  $$delete from public.orgs where id = '0f1a0000-0000-4000-8000-000000000001'$$,
  'an org with keys, companies, linked contacts and usage rows can be deleted'
);
select results_eq(
  $$select (select count(*) from public.api_keys where org_id = '0f1a0000-0000-4000-8000-000000000001')
         + (select count(*) from public.companies where org_id = '0f1a0000-0000-4000-8000-000000000001')
         + (select count(*) from public.contacts where org_id = '0f1a0000-0000-4000-8000-000000000001')
         + (select count(*) from public.api_usage where org_id = '0f1a0000-0000-4000-8000-000000000001'),
           (select count(*) from public.companies where org_id = '0f1b0000-0000-4000-8000-000000000002'),
           (select count(*) from public.contacts where org_id = '0f1b0000-0000-4000-8000-000000000002' and company_id is not null),
           (select count(*) from public.api_usage where org_id = '0f1b0000-0000-4000-8000-000000000002')$$,
  $$values (0::bigint, 1::bigint, 1::bigint, 1::bigint)$$,
  'the deleted org left no key, company, contact or usage row behind, and org B is untouched'
);

-- An Idempotency-Key record's lookup hash and fingerprint are 32 bytes (SHA-256, HMAC-SHA-256).
select lives_ok(
  $$insert into public.idempotency_records (org_id, key_hash, fingerprint, method, path, answer, created_at, expires_at)
    values ('0f1a0000-0000-4000-8000-000000000001', sha256('a'), sha256('b'), 'post', '/v1/x', '\x00', now(), now())$$,
  'an idempotency record with 32-byte hashes is accepted'
);
select throws_ok(
  $$insert into public.idempotency_records (org_id, key_hash, fingerprint, method, path, answer, created_at, expires_at)
    values ('0f1a0000-0000-4000-8000-000000000001', substring(sha256('c') from 2), sha256('b'), 'post', '/v1/x', '\x00', now(), now())$$,
  '23514', null, 'an idempotency record''s key_hash of another length is rejected'
);
select throws_ok(
  $$insert into public.idempotency_records (org_id, key_hash, fingerprint, method, path, answer, created_at, expires_at)
    values ('0f1a0000-0000-4000-8000-000000000001', sha256('d'), sha256('b') || '\x00'::bytea, 'post', '/v1/x', '\x00', now(), now())$$,
  '23514', null, 'an idempotency record''s fingerprint of another length is rejected'
);

select * from finish();
rollback;
