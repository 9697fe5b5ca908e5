-- link_contacts_to_company(p_key_hash, p_company_id, p_contact_ids uuid[], p_now) returns jsonb: the
-- link endpoint in one call. It authorizes itself (api_authorize, 'contacts:write'), then links.
-- Called as service_role, the role PostgREST uses in production; checked as the owner afterwards.
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(51);

grant usage on schema tap to service_role;

-- Contract ----------------------------------------------------------------------------------------------
select has_function('public', 'link_contacts_to_company', array['text', 'uuid', 'uuid[]', 'timestamp with time zone'],
  'link_contacts_to_company(text, uuid, uuid[], timestamptz) exists');
select is(
  pg_get_function_arguments('public.link_contacts_to_company(text,uuid,uuid[],timestamptz)'::regprocedure),
  'p_key_hash text, p_company_id uuid, p_contact_ids uuid[], p_now timestamp with time zone DEFAULT NULL::timestamp with time zone',
  'link_contacts_to_company takes p_key_hash, p_company_id, p_contact_ids and p_now (default null: now())'
);
select function_returns('public', 'link_contacts_to_company', array['text', 'uuid', 'uuid[]', 'timestamp with time zone'], 'jsonb',
  'link_contacts_to_company returns jsonb');
select volatility_is('public', 'link_contacts_to_company', array['text', 'uuid', 'uuid[]', 'timestamp with time zone'], 'volatile',
  'link_contacts_to_company is volatile (PostgREST runs stable/immutable RPCs in a read-only transaction)');

-- Helpers ------------------------------------------------------------------------------------------------
-- The hash the gateway sends: lowercase hex SHA-256 of the whole key string.
create function tap.kh(p_key text) returns text
language sql immutable
as $$ select encode(sha256(convert_to(p_key, 'UTF8')), 'hex') $$;

-- A call with the key's hash, at now(); the rate-limit state is checked on its own further down.
create function tap.link(p_key text, p_company uuid, p_ids uuid[]) returns jsonb
language sql
as $$ select public.link_contacts_to_company(tap.kh(p_key), p_company, p_ids) - 'rate_limit' $$;

-- The answer expected for a valid key, without its rate_limit: outcome, the key's org and prefix,
-- and data when there is some.
create function tap.answer(p_key text, p_outcome text, p_data jsonb default null) returns jsonb
language sql
as $$
  select jsonb_build_object(
    'outcome', p_outcome,
    'org_id', (select k.org_id from public.api_keys k where k.key_hash = tap.kh(p_key)),
    'key_prefix', left(p_key, 12)
  ) || case when p_data is null then '{}' else jsonb_build_object('data', p_data) end
$$;

-- The org's usage per day as the limiter counts it: the sum over its slots, and the latest minute's.
create function tap.usage(p_org uuid) returns table (day date, day_used int, minute timestamptz, minute_used int)
language sql
as $$
  select u.day, sum(u.day_used)::int, l.minute, (sum(u.minute_used) filter (where u.minute = l.minute))::int
  from public.api_usage u
  join (select x.day, max(x.minute) as minute from public.api_usage x where x.org_id = p_org group by x.day) l
    on l.day = u.day
  where u.org_id = p_org
  group by u.day, l.minute
  order by u.day
$$;

-- Fixture -----------------------------------------------------------------------------------------------
-- org A 0f6a..01 (plan org: 200 requests a minute) with companies A1 c06a..01, A2 c06a..02 and
-- contacts 6a00..01-06 (no company) and 100 bulk contacts 6e00..001-100; org B 0f6b..02 with company
-- B1 c06b..01, contact 6b00..01 (linked to B1) and 6b00..02 (no company); org C 0f6c..03 (one
-- request a minute) with company C1 c06c..01 and contacts 6c00..01/02 (no company). Ids 6dea..01/02
-- exist nowhere. Every contact starts with updated_at = 2001-01-01 so a write is visible as
-- updated_at = now().
insert into public.orgs (id, name, plan, rate_limit_per_minute) values
  ('0f6a0000-0000-4000-8000-000000000001', 'Link Org A', 'org', null),
  ('0f6b0000-0000-4000-8000-000000000002', 'Link Org B', 'starter', null),
  ('0f6c0000-0000-4000-8000-000000000003', 'Link Org C', 'starter', 1);
insert into public.companies (id, org_id, name, updated_at) values
  ('c06c0000-0000-4000-8000-000000000001', '0f6c0000-0000-4000-8000-000000000003', 'C1', '2001-01-01 00:00:00+00');
insert into public.contacts (id, org_id, company_id, full_name, updated_at) values
  ('6c000000-0000-4000-8000-000000000001', '0f6c0000-0000-4000-8000-000000000003', null, 'C contact 1', '2001-01-01 00:00:00+00'),
  ('6c000000-0000-4000-8000-000000000002', '0f6c0000-0000-4000-8000-000000000003', null, 'C contact 2', '2001-01-01 00:00:00+00');
-- Org A's keys: one that may link, one that may only read, a revoked one; org B's and org C's
-- (one request a minute) may link.
insert into public.api_keys (org_id, key_hash, prefix, permissions, revoked_at)
select v.org_id::uuid, tap.kh(v.k), left(v.k, 12), v.perms::text[], v.revoked_at::timestamptz
from (values
  ('0f6a0000-0000-4000-8000-000000000001', 'wbk_link_a', '{contacts:write}', null),
  ('0f6a0000-0000-4000-8000-000000000001', 'wbk_link_a_reader', '{contacts:read}', null),
  ('0f6a0000-0000-4000-8000-000000000001', 'wbk_link_a_revoked', '{contacts:write}', '2001-01-01 00:00:00+00'),
  ('0f6b0000-0000-4000-8000-000000000002', 'wbk_link_b', '{contacts:write}', null),
  ('0f6c0000-0000-4000-8000-000000000003', 'wbk_link_c', '{contacts:write}', null)
) v (org_id, k, perms, revoked_at);
insert into public.companies (id, org_id, name, updated_at) values
  ('c06a0000-0000-4000-8000-000000000001', '0f6a0000-0000-4000-8000-000000000001', 'A1', '2001-01-01 00:00:00+00'),
  ('c06a0000-0000-4000-8000-000000000002', '0f6a0000-0000-4000-8000-000000000001', 'A2', '2001-01-01 00:00:00+00'),
  ('c06b0000-0000-4000-8000-000000000001', '0f6b0000-0000-4000-8000-000000000002', 'B1', '2001-01-01 00:00:00+00');
insert into public.contacts (id, org_id, company_id, full_name, updated_at)
select ('6a000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, '0f6a0000-0000-4000-8000-000000000001', null,
       'A contact ' || i, '2001-01-01 00:00:00+00'
from generate_series(1, 6) i;
insert into public.contacts (id, org_id, company_id, full_name, updated_at)
select ('6e000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, '0f6a0000-0000-4000-8000-000000000001', null,
       'A bulk contact ' || i, '2001-01-01 00:00:00+00'
from generate_series(1, 100) i;
insert into public.contacts (id, org_id, company_id, full_name, updated_at) values
  ('6b000000-0000-4000-8000-000000000001', '0f6b0000-0000-4000-8000-000000000002', 'c06b0000-0000-4000-8000-000000000001', 'B contact 1', '2001-01-01 00:00:00+00'),
  ('6b000000-0000-4000-8000-000000000002', '0f6b0000-0000-4000-8000-000000000002', null, 'B contact 2', '2001-01-01 00:00:00+00');

-- Every contact and company as the linking can change them.
create function tap.state() returns table (kind text, id uuid, org_id uuid, company_id uuid, updated_at timestamptz)
language sql
as $$
  select 'contact', c.id, c.org_id, c.company_id, c.updated_at from public.contacts c
  union all
  select 'company', c.id, c.org_id, null, c.updated_at from public.companies c
$$;
create temp table link_snapshot on commit drop as select * from tap.state();

-- Unknown company / another org's company: outcome company_not_found and nothing changed -----------------
set local role service_role;
select is(
  tap.link(
    'wbk_link_a', 'c06fffff-0000-4000-8000-00000000ffff',
    array['6a000000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000002']::uuid[]),
  tap.answer('wbk_link_a', 'company_not_found'),
  'an unknown company: outcome company_not_found, with the key''s org and prefix and no data'
);
reset role;
select set_eq(
  $$select * from tap.state()$$,
  $$select * from link_snapshot$$,
  'an unknown company changed nothing'
);

set local role service_role;
select is(
  tap.link(
    'wbk_link_a', 'c06b0000-0000-4000-8000-000000000001',
    array['6a000000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000002']::uuid[]),
  tap.answer('wbk_link_a', 'company_not_found'),
  'org A linking its contacts to org B''s company: company_not_found'
);
reset role;
select set_eq(
  $$select * from tap.state()$$,
  $$select * from link_snapshot$$,
  'linking to another org''s company changed nothing'
);

set local role service_role;
select is(
  tap.link(
    'wbk_link_b', 'c06a0000-0000-4000-8000-000000000001',
    array['6b000000-0000-4000-8000-000000000002', '6a000000-0000-4000-8000-000000000003']::uuid[]),
  tap.answer('wbk_link_b', 'company_not_found'),
  'org B naming org A''s company: company_not_found'
);
select is(
  tap.link(
    'wbk_link_unknown', 'c06a0000-0000-4000-8000-000000000001',
    array['6a000000-0000-4000-8000-000000000003']::uuid[]),
  '{"outcome": "invalid_key"}'::jsonb,
  'an unknown key naming org A''s company: invalid_key, and nothing more'
);
select is(
  tap.link(
    'wbk_link_a', null,
    array['6a000000-0000-4000-8000-000000000003']::uuid[]),
  tap.answer('wbk_link_a', 'company_not_found'),
  'a null company: company_not_found (it does not unlink)'
);
reset role;
select set_eq(
  $$select * from tap.state()$$,
  $$select * from link_snapshot$$,
  'those calls changed nothing either'
);

-- Happy path ------------------------------------------------------------------------------------------------
set local role service_role;
select is(
  tap.link(
    'wbk_link_a', 'c06a0000-0000-4000-8000-000000000001',
    array['6a000000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000002']::uuid[]),
  tap.answer('wbk_link_a', 'ok', '{"updated": 2, "failed": 0, "failed_ids": []}'),
  'linking two contacts of the org returns updated 2, failed 0'
);
reset role;
select results_eq(
  $$select id, org_id, company_id, updated_at = now() from public.contacts
    where id in ('6a000000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000002') order by id$$,
  $$values ('6a000000-0000-4000-8000-000000000001'::uuid, '0f6a0000-0000-4000-8000-000000000001'::uuid, 'c06a0000-0000-4000-8000-000000000001'::uuid, true),
           ('6a000000-0000-4000-8000-000000000002'::uuid, '0f6a0000-0000-4000-8000-000000000001'::uuid, 'c06a0000-0000-4000-8000-000000000001'::uuid, true)$$,
  'both contacts now point at the company, keep their org and have updated_at = now()'
);
select set_eq(
  $$select 'contact', id, org_id, company_id, updated_at from public.contacts
      where id not in ('6a000000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000002')
    union all select 'company', id, org_id, null, updated_at from public.companies$$,
  $$select * from link_snapshot
    where id not in ('6a000000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000002')$$,
  'no other contact and no company changed'
);

-- Duplicates are de-duplicated --------------------------------------------------------------------------------
set local role service_role;
select is(
  tap.link(
    'wbk_link_a', 'c06a0000-0000-4000-8000-000000000001',
    array['6a000000-0000-4000-8000-000000000003', '6a000000-0000-4000-8000-000000000004',
          '6a000000-0000-4000-8000-000000000003', '6a000000-0000-4000-8000-000000000003',
          '6a000000-0000-4000-8000-000000000004']::uuid[]),
  tap.answer('wbk_link_a', 'ok', '{"updated": 2, "failed": 0, "failed_ids": []}'),
  'five ids naming two contacts count as updated 2'
);
reset role;
select results_eq(
  $$select id, company_id, updated_at = now() from public.contacts
    where id in ('6a000000-0000-4000-8000-000000000003', '6a000000-0000-4000-8000-000000000004') order by id$$,
  $$values ('6a000000-0000-4000-8000-000000000003'::uuid, 'c06a0000-0000-4000-8000-000000000001'::uuid, true),
           ('6a000000-0000-4000-8000-000000000004'::uuid, 'c06a0000-0000-4000-8000-000000000001'::uuid, true)$$,
  'the de-duplicated contacts point at the company'
);

-- Idempotent: already-linked contacts count as updated but are not rewritten ---------------------------------
update public.contacts set updated_at = '2001-01-01 00:00:00+00'
where id in ('6a000000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000002',
             '6a000000-0000-4000-8000-000000000003', '6a000000-0000-4000-8000-000000000004');
set local role service_role;
select is(
  tap.link(
    'wbk_link_a', 'c06a0000-0000-4000-8000-000000000001',
    array['6a000000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000002',
          '6a000000-0000-4000-8000-000000000005']::uuid[]),
  tap.answer('wbk_link_a', 'ok', '{"updated": 3, "failed": 0, "failed_ids": []}'),
  're-linking two linked contacts plus a new one counts updated 3'
);
reset role;
select results_eq(
  $$select id, company_id, updated_at from public.contacts
    where id in ('6a000000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000002') order by id$$,
  $$values ('6a000000-0000-4000-8000-000000000001'::uuid, 'c06a0000-0000-4000-8000-000000000001'::uuid, '2001-01-01 00:00:00+00'::timestamptz),
           ('6a000000-0000-4000-8000-000000000002'::uuid, 'c06a0000-0000-4000-8000-000000000001'::uuid, '2001-01-01 00:00:00+00'::timestamptz)$$,
  'the already-linked contacts keep their updated_at'
);
select results_eq(
  $$select company_id, updated_at = now() from public.contacts where id = '6a000000-0000-4000-8000-000000000005'$$,
  $$values ('c06a0000-0000-4000-8000-000000000001'::uuid, true)$$,
  'the newly linked contact points at the company with updated_at = now()'
);

update public.contacts set updated_at = '2001-01-01 00:00:00+00' where id = '6a000000-0000-4000-8000-000000000005';
set local role service_role;
select is(
  tap.link(
    'wbk_link_a', 'c06a0000-0000-4000-8000-000000000001',
    array['6a000000-0000-4000-8000-000000000005', '6a000000-0000-4000-8000-000000000004',
          '6a000000-0000-4000-8000-000000000003', '6a000000-0000-4000-8000-000000000002',
          '6a000000-0000-4000-8000-000000000001']::uuid[]),
  tap.answer('wbk_link_a', 'ok', '{"updated": 5, "failed": 0, "failed_ids": []}'),
  'repeating a link of five linked contacts counts updated 5'
);
reset role;
select is(
  (select count(*) from public.contacts
   where id in ('6a000000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000002',
                '6a000000-0000-4000-8000-000000000003', '6a000000-0000-4000-8000-000000000004',
                '6a000000-0000-4000-8000-000000000005')
     and company_id = 'c06a0000-0000-4000-8000-000000000001'
     and updated_at = '2001-01-01 00:00:00+00'),
  5::bigint,
  'a repeated link rewrites no row (all five keep company and updated_at)'
);

-- Moving a contact to another company of the org -----------------------------------------------------------
set local role service_role;
select is(
  tap.link(
    'wbk_link_a', 'c06a0000-0000-4000-8000-000000000002',
    array['6a000000-0000-4000-8000-000000000001']::uuid[]),
  tap.answer('wbk_link_a', 'ok', '{"updated": 1, "failed": 0, "failed_ids": []}'),
  'moving a contact from company A1 to A2 counts updated 1'
);
reset role;
select results_eq(
  $$select id, company_id, updated_at = now() from public.contacts
    where id in ('6a000000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000002') order by id$$,
  $$values ('6a000000-0000-4000-8000-000000000001'::uuid, 'c06a0000-0000-4000-8000-000000000002'::uuid, true),
           ('6a000000-0000-4000-8000-000000000002'::uuid, 'c06a0000-0000-4000-8000-000000000001'::uuid, false)$$,
  'the moved contact points at A2 with updated_at = now(); its neighbour stays on A1'
);

-- Mixed: the org's contacts, missing ids and another org's contact -----------------------------------------
-- Sent: missing1, c6, B's contact, missing2, c6, missing1, c1 (c1 moves back from A2 to A1).
set local role service_role;
select is(
  tap.link(
    'wbk_link_a', 'c06a0000-0000-4000-8000-000000000001',
    array['6dea0000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000006',
          '6b000000-0000-4000-8000-000000000001', '6dea0000-0000-4000-8000-000000000002',
          '6a000000-0000-4000-8000-000000000006', '6dea0000-0000-4000-8000-000000000001',
          '6a000000-0000-4000-8000-000000000001']::uuid[]),
  tap.answer('wbk_link_a', 'ok', '{"updated": 2, "failed": 3,
    "failed_ids": ["6dea0000-0000-4000-8000-000000000001", "6b000000-0000-4000-8000-000000000001",
                   "6dea0000-0000-4000-8000-000000000002"]}'),
  'mixed ids: the org''s contacts are updated; missing and other-org ids fail, listed once each in first-sent order'
);
reset role;
select results_eq(
  $$select id, company_id, updated_at = now() from public.contacts
    where id in ('6a000000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000006') order by id$$,
  $$values ('6a000000-0000-4000-8000-000000000001'::uuid, 'c06a0000-0000-4000-8000-000000000001'::uuid, true),
           ('6a000000-0000-4000-8000-000000000006'::uuid, 'c06a0000-0000-4000-8000-000000000001'::uuid, true)$$,
  'the org''s contacts in the mixed call point at A1 with updated_at = now()'
);
select results_eq(
  $$select id, org_id, company_id, updated_at from public.contacts where org_id = '0f6b0000-0000-4000-8000-000000000002' order by id$$,
  $$values ('6b000000-0000-4000-8000-000000000001'::uuid, '0f6b0000-0000-4000-8000-000000000002'::uuid, 'c06b0000-0000-4000-8000-000000000001'::uuid, '2001-01-01 00:00:00+00'::timestamptz),
           ('6b000000-0000-4000-8000-000000000002'::uuid, '0f6b0000-0000-4000-8000-000000000002'::uuid, null::uuid, '2001-01-01 00:00:00+00'::timestamptz)$$,
  'the other org''s contacts were not modified'
);
select is(
  (select count(*) from public.contacts where id in ('6dea0000-0000-4000-8000-000000000001', '6dea0000-0000-4000-8000-000000000002')),
  0::bigint,
  'missing ids were not created'
);

-- updated + failed = distinct ids, failed = length of failed_ids ----------------------------------------
create temp table link_result (r jsonb) on commit drop;
grant insert, select on link_result to service_role;
set local role service_role;
insert into link_result
select tap.link(
  'wbk_link_a', 'c06a0000-0000-4000-8000-000000000002',
  array['6a000000-0000-4000-8000-000000000002', '6dea0000-0000-4000-8000-000000000002',
        '6a000000-0000-4000-8000-000000000002', '6b000000-0000-4000-8000-000000000002',
        '6a000000-0000-4000-8000-000000000003', '6dea0000-0000-4000-8000-000000000002']::uuid[]);
reset role;
select is(
  (select (r -> 'data' ->> 'updated')::int + (r -> 'data' ->> 'failed')::int from link_result),
  4,
  'updated + failed = 4, the number of distinct ids sent (6 ids, 4 distinct)'
);
select is(
  (select (r -> 'data' ->> 'failed')::int from link_result),
  (select jsonb_array_length(r -> 'data' -> 'failed_ids') from link_result),
  'failed equals the number of failed_ids'
);
select is(
  (select r from link_result),
  tap.answer('wbk_link_a', 'ok', '{"updated": 2, "failed": 2,
    "failed_ids": ["6dea0000-0000-4000-8000-000000000002", "6b000000-0000-4000-8000-000000000002"]}'),
  'that call returned updated 2, failed 2 with failed_ids in first-sent order'
);
select results_eq(
  $$select id, company_id from public.contacts
    where id in ('6a000000-0000-4000-8000-000000000002', '6a000000-0000-4000-8000-000000000003', '6b000000-0000-4000-8000-000000000002') order by id$$,
  $$values ('6a000000-0000-4000-8000-000000000002'::uuid, 'c06a0000-0000-4000-8000-000000000002'::uuid),
           ('6a000000-0000-4000-8000-000000000003'::uuid, 'c06a0000-0000-4000-8000-000000000002'::uuid),
           ('6b000000-0000-4000-8000-000000000002'::uuid, null::uuid)$$,
  'the org''s contacts moved to A2; org B''s contact without company stayed without one'
);

-- The 100-id limit is the API's (limits.ts, enforced by zod before any call); a batch of exactly
-- that size works in one call ----------------------------------------------------------------------

set local role service_role;
select is(
  tap.link(
    'wbk_link_a', 'c06a0000-0000-4000-8000-000000000002',
    array(select ('6e000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid from generate_series(1, 100) i order by i)),
  tap.answer('wbk_link_a', 'ok', '{"updated": 100, "failed": 0, "failed_ids": []}'),
  'exactly 100 ids work: updated 100'
);
reset role;
select is(
  (select count(*) from public.contacts
   where full_name like 'A bulk contact %'
     and company_id = 'c06a0000-0000-4000-8000-000000000002'
     and updated_at = now()),
  100::bigint,
  'all 100 contacts point at A2 with updated_at = now()'
);

set local role service_role;
select is(
  tap.link(
    'wbk_link_a', 'c06a0000-0000-4000-8000-000000000001',
    array(select ('6f000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid from generate_series(1, 100) i order by i)),
  tap.answer('wbk_link_a', 'ok', jsonb_build_object('updated', 0, 'failed', 100,
    'failed_ids', (select jsonb_agg(('6f000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid order by i) from generate_series(1, 100) i))),
  '100 missing ids: updated 0, failed 100, all listed in order'
);

-- Empty input ---------------------------------------------------------------------------------------------
select is(
  tap.link(
    'wbk_link_a', 'c06a0000-0000-4000-8000-000000000001', '{}'::uuid[]),
  tap.answer('wbk_link_a', 'ok', '{"updated": 0, "failed": 0, "failed_ids": []}'),
  'an empty array returns updated 0, failed 0'
);
select is(
  tap.link(
    'wbk_link_a', 'c06fffff-0000-4000-8000-00000000ffff', '{}'::uuid[]),
  tap.answer('wbk_link_a', 'company_not_found'),
  'an empty array with an unknown company is still company_not_found'
);
reset role;

-- Authorization answers first, and its answer is the function's (at 2030-01-15 12:00:30 UTC, a day of
-- its own for the counters) -------------------------------------------------------------------------------
-- One contact, at that instant, the whole answer.
create function tap.link_at(p_key text, p_company uuid, p_contact uuid) returns jsonb
language sql
as $$ select public.link_contacts_to_company(tap.kh(p_key), p_company, array[p_contact], '2030-01-15 12:00:30+00') $$;
create temp table state_before on commit drop as select * from tap.state();
set local role service_role;
select is(
  tap.link_at('wbk_link_a_revoked', 'c06a0000-0000-4000-8000-000000000002', '6a000000-0000-4000-8000-000000000004'),
  '{"outcome": "invalid_key"}'::jsonb,
  'a revoked key: exactly {"outcome": "invalid_key"}'
);
select is(
  tap.link_at('wbk_link_a_reader', 'c06a0000-0000-4000-8000-000000000002', '6a000000-0000-4000-8000-000000000004'),
  '{"outcome": "insufficient_permissions", "org_id": "0f6a0000-0000-4000-8000-000000000001", "key_prefix": "wbk_link_a_r",
    "rate_limit": {"minute": {"limit": 200, "remaining": 199, "reset": 1894708860, "reset_in": 30},
                   "day": {"limit": 10000, "remaining": 9999, "reset": 1894752000, "reset_in": 43170}}}'::jsonb,
  'a key that may only read: api_authorize''s insufficient_permissions answer, unchanged (contacts:write is needed)'
);
select is(
  tap.link_at('wbk_link_a', 'c06fffff-0000-4000-8000-00000000ffff', '6a000000-0000-4000-8000-000000000004'),
  '{"outcome": "company_not_found", "org_id": "0f6a0000-0000-4000-8000-000000000001", "key_prefix": "wbk_link_a",
    "rate_limit": {"minute": {"limit": 200, "remaining": 198, "reset": 1894708860, "reset_in": 30},
                   "day": {"limit": 10000, "remaining": 9998, "reset": 1894752000, "reset_in": 43170}}}'::jsonb,
  'an unknown company: company_not_found with the limits, and the request took a token (198 left)'
);
select is(
  tap.link_at('wbk_link_c', 'c06c0000-0000-4000-8000-000000000001', '6c000000-0000-4000-8000-000000000001') ->> 'outcome',
  'ok',
  'org C (one request a minute): the first link is ok'
);
select is(
  tap.link_at('wbk_link_c', 'c06c0000-0000-4000-8000-000000000001', '6c000000-0000-4000-8000-000000000002'),
  '{"outcome": "rate_limited", "org_id": "0f6c0000-0000-4000-8000-000000000003", "key_prefix": "wbk_link_c",
    "rate_limit": {"window": "minute", "minute": {"limit": 1, "remaining": 0, "reset": 1894708860, "reset_in": 30},
                   "day": {"limit": 100, "remaining": 99, "reset": 1894752000, "reset_in": 43170}}}'::jsonb,
  'org C''s second link in the minute: rate_limited, with the window and both limits'
);
select is(
  tap.link_at('wbk_link_c', 'c06c0000-0000-4000-8000-000000000001', '6c000000-0000-4000-8000-000000000002'),
  public.api_authorize(tap.kh('wbk_link_c'), 'contacts:write', '2030-01-15 12:00:30+00'),
  'a rate-limited link answers exactly what api_authorize answers at the same instant'
);
reset role;
select set_eq(
  $$select * from tap.state() where id <> '6c000000-0000-4000-8000-000000000001'$$,
  $$select * from state_before where id <> '6c000000-0000-4000-8000-000000000001'$$,
  'the invalid, forbidden, company_not_found and rate-limited calls changed no contact and no company'
);
select results_eq(
  $$select id, company_id, updated_at = now() from public.contacts where org_id = '0f6c0000-0000-4000-8000-000000000003' order by id$$,
  $$values ('6c000000-0000-4000-8000-000000000001'::uuid, 'c06c0000-0000-4000-8000-000000000001'::uuid, true),
           ('6c000000-0000-4000-8000-000000000002'::uuid, null::uuid, false)$$,
  'org C: the first contact was linked, the rate-limited one was not'
);

set local role service_role;
select is(
  tap.link_at('wbk_link_a', 'c06a0000-0000-4000-8000-000000000002', '6a000000-0000-4000-8000-000000000004'),
  '{"outcome": "ok", "org_id": "0f6a0000-0000-4000-8000-000000000001", "key_prefix": "wbk_link_a",
    "rate_limit": {"minute": {"limit": 200, "remaining": 197, "reset": 1894708860, "reset_in": 30},
                   "day": {"limit": 10000, "remaining": 9997, "reset": 1894752000, "reset_in": 43170}},
    "data": {"updated": 1, "failed": 0, "failed_ids": []}}'::jsonb,
  'ok: api_authorize''s answer (the limits after this request) plus data'
);
select results_eq(
  $$select * from tap.usage('0f6a0000-0000-4000-8000-000000000001') where day = '2030-01-15'$$,
  $$values ('2030-01-15'::date, 3, '2030-01-15 12:00:00+00'::timestamptz, 3)$$,
  'org A''s counters for that day: the forbidden, the company_not_found and the ok call; not the revoked key''s'
);
select results_eq(
  $$select * from tap.usage('0f6c0000-0000-4000-8000-000000000003')$$,
  $$values ('2030-01-15'::date, 1, '2030-01-15 12:00:00+00'::timestamptz, 1)$$,
  'org C''s counters: the one link; the rate-limited calls took nothing'
);
reset role;
update public.contacts set company_id = 'c06a0000-0000-4000-8000-000000000001', updated_at = now()
where id = '6a000000-0000-4000-8000-000000000004';

-- The whole run: every contact ends where the calls above put it; the companies were never written ----------
select results_eq(
  $$select id, org_id, company_id from public.contacts
    where org_id in ('0f6a0000-0000-4000-8000-000000000001', '0f6b0000-0000-4000-8000-000000000002')
      and full_name not like 'A bulk contact %'
    order by id$$,
  $$values ('6a000000-0000-4000-8000-000000000001'::uuid, '0f6a0000-0000-4000-8000-000000000001'::uuid, 'c06a0000-0000-4000-8000-000000000001'::uuid),
           ('6a000000-0000-4000-8000-000000000002'::uuid, '0f6a0000-0000-4000-8000-000000000001'::uuid, 'c06a0000-0000-4000-8000-000000000002'::uuid),
           ('6a000000-0000-4000-8000-000000000003'::uuid, '0f6a0000-0000-4000-8000-000000000001'::uuid, 'c06a0000-0000-4000-8000-000000000002'::uuid),
           ('6a000000-0000-4000-8000-000000000004'::uuid, '0f6a0000-0000-4000-8000-000000000001'::uuid, 'c06a0000-0000-4000-8000-000000000001'::uuid),
           ('6a000000-0000-4000-8000-000000000005'::uuid, '0f6a0000-0000-4000-8000-000000000001'::uuid, 'c06a0000-0000-4000-8000-000000000001'::uuid),
           ('6a000000-0000-4000-8000-000000000006'::uuid, '0f6a0000-0000-4000-8000-000000000001'::uuid, 'c06a0000-0000-4000-8000-000000000001'::uuid),
           ('6b000000-0000-4000-8000-000000000001'::uuid, '0f6b0000-0000-4000-8000-000000000002'::uuid, 'c06b0000-0000-4000-8000-000000000001'::uuid),
           ('6b000000-0000-4000-8000-000000000002'::uuid, '0f6b0000-0000-4000-8000-000000000002'::uuid, null::uuid)$$,
  'after all calls every contact has the expected org and company'
);
select set_eq(
  $$select id, org_id, updated_at from public.companies$$,
  $$select id, org_id, updated_at from link_snapshot where kind = 'company'$$,
  'no call wrote to companies'
);
select set_eq(
  $$select id from public.contacts$$,
  $$select id from link_snapshot where kind = 'contact'$$,
  'no call created or deleted a contact'
);

select * from finish();
rollback;
