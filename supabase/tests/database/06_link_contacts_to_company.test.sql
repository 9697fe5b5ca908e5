-- link_contacts_to_company(p_org_id, p_company_id, p_contact_ids uuid[]) returns jsonb.
-- Called as service_role, the role PostgREST uses in production; checked as the owner afterwards.
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(43);

grant usage on schema tap to service_role;

-- Contract ----------------------------------------------------------------------------------------------
select has_function('public', 'link_contacts_to_company', array['uuid', 'uuid', 'uuid[]'], 'link_contacts_to_company(uuid, uuid, uuid[]) exists');
select is(
  (select proargnames from pg_proc where oid = 'public.link_contacts_to_company(uuid,uuid,uuid[])'::regprocedure),
  array['p_org_id', 'p_company_id', 'p_contact_ids']::text[],
  'link_contacts_to_company takes p_org_id, p_company_id, p_contact_ids'
);
select function_returns('public', 'link_contacts_to_company', array['uuid', 'uuid', 'uuid[]'], 'jsonb', 'link_contacts_to_company returns jsonb');
select volatility_is('public', 'link_contacts_to_company', array['uuid', 'uuid', 'uuid[]'], 'volatile',
  'link_contacts_to_company is volatile (PostgREST runs stable/immutable RPCs in a read-only transaction)');

-- Fixture -----------------------------------------------------------------------------------------------
-- org A 0f6a..01 with companies A1 c06a..01, A2 c06a..02 and contacts 6a00..01-06 (no company) and
-- 100 bulk contacts 6e00..001-100; org B 0f6b..02 with company B1 c06b..01, contact 6b00..01 (linked
-- to B1) and 6b00..02 (no company). Ids 6dea..01/02 exist nowhere. Every contact starts with
-- updated_at = 2001-01-01 so a write is visible as updated_at = now().
insert into public.orgs (id, name) values
  ('0f6a0000-0000-4000-8000-000000000001', 'Link Org A'),
  ('0f6b0000-0000-4000-8000-000000000002', 'Link Org B');
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

create temp table link_snapshot on commit drop as
  select 'contact' as kind, id, org_id, company_id, updated_at from public.contacts
  union all
  select 'company', id, org_id, null, updated_at from public.companies;

-- Unknown company / another org's company: {"company_found": false} and nothing changed ------------------
set local role service_role;
select is(
  public.link_contacts_to_company(
    '0f6a0000-0000-4000-8000-000000000001', 'c06fffff-0000-4000-8000-00000000ffff',
    array['6a000000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000002']::uuid[]),
  '{"company_found": false}'::jsonb,
  'an unknown company returns {"company_found": false}'
);
reset role;
select set_eq(
  $$select 'contact', id, org_id, company_id, updated_at from public.contacts
    union all select 'company', id, org_id, null, updated_at from public.companies$$,
  $$select * from link_snapshot$$,
  'an unknown company changed nothing'
);

set local role service_role;
select is(
  public.link_contacts_to_company(
    '0f6a0000-0000-4000-8000-000000000001', 'c06b0000-0000-4000-8000-000000000001',
    array['6a000000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000002']::uuid[]),
  '{"company_found": false}'::jsonb,
  'org A linking its contacts to org B''s company returns {"company_found": false}'
);
reset role;
select set_eq(
  $$select 'contact', id, org_id, company_id, updated_at from public.contacts
    union all select 'company', id, org_id, null, updated_at from public.companies$$,
  $$select * from link_snapshot$$,
  'linking to another org''s company changed nothing'
);

set local role service_role;
select is(
  public.link_contacts_to_company(
    '0f6b0000-0000-4000-8000-000000000002', 'c06a0000-0000-4000-8000-000000000001',
    array['6b000000-0000-4000-8000-000000000002', '6a000000-0000-4000-8000-000000000003']::uuid[]),
  '{"company_found": false}'::jsonb,
  'org B naming org A''s company returns {"company_found": false}'
);
select is(
  public.link_contacts_to_company(
    '0f6fffff-0000-4000-8000-00000000ffff', 'c06a0000-0000-4000-8000-000000000001',
    array['6a000000-0000-4000-8000-000000000003']::uuid[]),
  '{"company_found": false}'::jsonb,
  'an unknown org naming org A''s company returns {"company_found": false}'
);
select is(
  public.link_contacts_to_company(
    '0f6a0000-0000-4000-8000-000000000001', null,
    array['6a000000-0000-4000-8000-000000000003']::uuid[]),
  '{"company_found": false}'::jsonb,
  'a null company returns {"company_found": false} (it does not unlink)'
);
reset role;
select set_eq(
  $$select 'contact', id, org_id, company_id, updated_at from public.contacts
    union all select 'company', id, org_id, null, updated_at from public.companies$$,
  $$select * from link_snapshot$$,
  'those calls changed nothing either'
);

-- Happy path ------------------------------------------------------------------------------------------------
set local role service_role;
select is(
  public.link_contacts_to_company(
    '0f6a0000-0000-4000-8000-000000000001', 'c06a0000-0000-4000-8000-000000000001',
    array['6a000000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000002']::uuid[]),
  '{"company_found": true, "updated": 2, "failed": 0, "failed_ids": []}'::jsonb,
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
  public.link_contacts_to_company(
    '0f6a0000-0000-4000-8000-000000000001', 'c06a0000-0000-4000-8000-000000000001',
    array['6a000000-0000-4000-8000-000000000003', '6a000000-0000-4000-8000-000000000004',
          '6a000000-0000-4000-8000-000000000003', '6a000000-0000-4000-8000-000000000003',
          '6a000000-0000-4000-8000-000000000004']::uuid[]),
  '{"company_found": true, "updated": 2, "failed": 0, "failed_ids": []}'::jsonb,
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
  public.link_contacts_to_company(
    '0f6a0000-0000-4000-8000-000000000001', 'c06a0000-0000-4000-8000-000000000001',
    array['6a000000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000002',
          '6a000000-0000-4000-8000-000000000005']::uuid[]),
  '{"company_found": true, "updated": 3, "failed": 0, "failed_ids": []}'::jsonb,
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
  public.link_contacts_to_company(
    '0f6a0000-0000-4000-8000-000000000001', 'c06a0000-0000-4000-8000-000000000001',
    array['6a000000-0000-4000-8000-000000000005', '6a000000-0000-4000-8000-000000000004',
          '6a000000-0000-4000-8000-000000000003', '6a000000-0000-4000-8000-000000000002',
          '6a000000-0000-4000-8000-000000000001']::uuid[]),
  '{"company_found": true, "updated": 5, "failed": 0, "failed_ids": []}'::jsonb,
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
  public.link_contacts_to_company(
    '0f6a0000-0000-4000-8000-000000000001', 'c06a0000-0000-4000-8000-000000000002',
    array['6a000000-0000-4000-8000-000000000001']::uuid[]),
  '{"company_found": true, "updated": 1, "failed": 0, "failed_ids": []}'::jsonb,
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
  public.link_contacts_to_company(
    '0f6a0000-0000-4000-8000-000000000001', 'c06a0000-0000-4000-8000-000000000001',
    array['6dea0000-0000-4000-8000-000000000001', '6a000000-0000-4000-8000-000000000006',
          '6b000000-0000-4000-8000-000000000001', '6dea0000-0000-4000-8000-000000000002',
          '6a000000-0000-4000-8000-000000000006', '6dea0000-0000-4000-8000-000000000001',
          '6a000000-0000-4000-8000-000000000001']::uuid[]),
  '{"company_found": true, "updated": 2, "failed": 3,
    "failed_ids": ["6dea0000-0000-4000-8000-000000000001", "6b000000-0000-4000-8000-000000000001",
                   "6dea0000-0000-4000-8000-000000000002"]}'::jsonb,
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
select public.link_contacts_to_company(
  '0f6a0000-0000-4000-8000-000000000001', 'c06a0000-0000-4000-8000-000000000002',
  array['6a000000-0000-4000-8000-000000000002', '6dea0000-0000-4000-8000-000000000002',
        '6a000000-0000-4000-8000-000000000002', '6b000000-0000-4000-8000-000000000002',
        '6a000000-0000-4000-8000-000000000003', '6dea0000-0000-4000-8000-000000000002']::uuid[]);
reset role;
select is(
  (select (r ->> 'updated')::int + (r ->> 'failed')::int from link_result),
  4,
  'updated + failed = 4, the number of distinct ids sent (6 ids, 4 distinct)'
);
select is(
  (select (r ->> 'failed')::int from link_result),
  (select jsonb_array_length(r -> 'failed_ids') from link_result),
  'failed equals the number of failed_ids'
);
select is(
  (select r from link_result),
  '{"company_found": true, "updated": 2, "failed": 2,
    "failed_ids": ["6dea0000-0000-4000-8000-000000000002", "6b000000-0000-4000-8000-000000000002"]}'::jsonb,
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

-- At most 100 ids per call --------------------------------------------------------------------------------
set local role service_role;
select throws_ok(
  $$select public.link_contacts_to_company(
      '0f6a0000-0000-4000-8000-000000000001', 'c06a0000-0000-4000-8000-000000000002',
      array(select ('6e000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid from generate_series(1, 100) i order by i)
      || '6a000000-0000-4000-8000-000000000006'::uuid)$$,
  '22023', null,
  '101 ids raise SQLSTATE 22023 (invalid_parameter_value)'
);
select throws_ok(
  $$select public.link_contacts_to_company(
      '0f6a0000-0000-4000-8000-000000000001', 'c06a0000-0000-4000-8000-000000000002',
      array(select gen_random_uuid() from generate_series(1, 500)))$$,
  '22023', null,
  '500 ids raise SQLSTATE 22023'
);
reset role;
select is(
  (select count(*) from public.contacts where full_name like 'A bulk contact %' and company_id is not null),
  0::bigint,
  'a rejected call over the limit linked nothing'
);

set local role service_role;
select is(
  public.link_contacts_to_company(
    '0f6a0000-0000-4000-8000-000000000001', 'c06a0000-0000-4000-8000-000000000002',
    array(select ('6e000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid from generate_series(1, 100) i order by i)),
  '{"company_found": true, "updated": 100, "failed": 0, "failed_ids": []}'::jsonb,
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
  public.link_contacts_to_company(
    '0f6a0000-0000-4000-8000-000000000001', 'c06a0000-0000-4000-8000-000000000001',
    array(select ('6f000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid from generate_series(1, 100) i order by i)),
  jsonb_build_object('company_found', true, 'updated', 0, 'failed', 100,
    'failed_ids', (select jsonb_agg(('6f000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid order by i) from generate_series(1, 100) i)),
  '100 missing ids: updated 0, failed 100, all listed in order'
);

-- Empty input ---------------------------------------------------------------------------------------------
select is(
  public.link_contacts_to_company(
    '0f6a0000-0000-4000-8000-000000000001', 'c06a0000-0000-4000-8000-000000000001', '{}'::uuid[]),
  '{"company_found": true, "updated": 0, "failed": 0, "failed_ids": []}'::jsonb,
  'an empty array returns updated 0, failed 0'
);
select is(
  public.link_contacts_to_company(
    '0f6a0000-0000-4000-8000-000000000001', 'c06fffff-0000-4000-8000-00000000ffff', '{}'::uuid[]),
  '{"company_found": false}'::jsonb,
  'an empty array with an unknown company still returns {"company_found": false}'
);
reset role;

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
