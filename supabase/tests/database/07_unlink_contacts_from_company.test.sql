-- unlink_contacts_from_company(p_key_hash, p_company_id, p_contact_ids, p_now) returns jsonb.
-- Called as service_role, the role PostgREST uses in production; checked as the owner afterwards.
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(16);
grant usage on schema tap to service_role;

select has_function('public', 'unlink_contacts_from_company', array['text', 'uuid', 'uuid[]', 'timestamp with time zone'],
  'unlink_contacts_from_company(text, uuid, uuid[], timestamptz) exists');
select volatility_is('public', 'unlink_contacts_from_company', array['text', 'uuid', 'uuid[]', 'timestamp with time zone'], 'volatile',
  'unlink_contacts_from_company is volatile');

-- Fixture: org A (pro) with companies A1, A2 and contacts 1-5: 1, 2, 3 at A1, 4 at A2, 5 unlinked;
-- org B with company B1 and contact B1-1 at B1. Keys by hash: 'ua' (contacts:write), 'ur'
-- (contacts:read), both A's; 'ub' B's. Every contact starts with updated_at = 2001-01-01.
insert into public.orgs (id, name, plan) values
  ('0f7a0000-0000-4000-8000-000000000001', 'Unlink Org A', 'pro'),
  ('0f7b0000-0000-4000-8000-000000000002', 'Unlink Org B', 'pro');
insert into public.companies (id, org_id, name) values
  ('c07a0000-0000-4000-8000-000000000001', '0f7a0000-0000-4000-8000-000000000001', 'A1'),
  ('c07a0000-0000-4000-8000-000000000002', '0f7a0000-0000-4000-8000-000000000001', 'A2'),
  ('c07b0000-0000-4000-8000-000000000001', '0f7b0000-0000-4000-8000-000000000002', 'B1');
insert into public.contacts (id, org_id, company_id, updated_at) values
  ('7a000000-0000-4000-8000-000000000001', '0f7a0000-0000-4000-8000-000000000001', 'c07a0000-0000-4000-8000-000000000001', '2001-01-01'),
  ('7a000000-0000-4000-8000-000000000002', '0f7a0000-0000-4000-8000-000000000001', 'c07a0000-0000-4000-8000-000000000001', '2001-01-01'),
  ('7a000000-0000-4000-8000-000000000003', '0f7a0000-0000-4000-8000-000000000001', 'c07a0000-0000-4000-8000-000000000001', '2001-01-01'),
  ('7a000000-0000-4000-8000-000000000004', '0f7a0000-0000-4000-8000-000000000001', 'c07a0000-0000-4000-8000-000000000002', '2001-01-01'),
  ('7a000000-0000-4000-8000-000000000005', '0f7a0000-0000-4000-8000-000000000001', null, '2001-01-01'),
  ('7b000000-0000-4000-8000-000000000001', '0f7b0000-0000-4000-8000-000000000002', 'c07b0000-0000-4000-8000-000000000001', '2001-01-01');
insert into public.api_keys (org_id, key_hash, prefix, permissions) values
  ('0f7a0000-0000-4000-8000-000000000001', encode(sha256('ua'), 'hex'), 'wbk_ua', '{contacts:write}'),
  ('0f7a0000-0000-4000-8000-000000000001', encode(sha256('ur'), 'hex'), 'wbk_ur', '{contacts:read}'),
  ('0f7b0000-0000-4000-8000-000000000002', encode(sha256('ub'), 'hex'), 'wbk_ub', '{contacts:write}');

create temp table unlink_before on commit drop as select id, company_id, updated_at from public.contacts;
grant select on unlink_before to service_role;

set local role service_role;

-- Refusals pass api_authorize's outcome through and change nothing.
select is(public.unlink_contacts_from_company(encode(sha256('nope'), 'hex'), 'c07a0000-0000-4000-8000-000000000001',
  array['7a000000-0000-4000-8000-000000000001']::uuid[]), '{"outcome": "invalid_key"}'::jsonb, 'an unknown key: invalid_key');
select is(public.unlink_contacts_from_company(encode(sha256('ur'), 'hex'), 'c07a0000-0000-4000-8000-000000000001',
  array['7a000000-0000-4000-8000-000000000001']::uuid[])->>'outcome', 'insufficient_permissions', 'a contacts:read key: insufficient_permissions');
select is(public.unlink_contacts_from_company(encode(sha256('ua'), 'hex'), 'c07b0000-0000-4000-8000-000000000001',
  array['7b000000-0000-4000-8000-000000000001']::uuid[])->>'outcome', 'company_not_found', 'another org''s company: company_not_found');
select is(public.unlink_contacts_from_company(encode(sha256('ua'), 'hex'), 'c07affff-0000-4000-8000-000000000001',
  array['7a000000-0000-4000-8000-000000000001']::uuid[])->>'outcome', 'company_not_found', 'an unknown company: company_not_found');
select set_eq('select id, company_id, updated_at from public.contacts', 'select * from unlink_before', 'nothing changed so far');

-- The work: 1 and 2 at A1 unlinked; 4 (at A2) and 5 (unlinked) counted, untouched; B's contact and
-- an unknown id failed, in first-sent order; duplicates count once.
select is(
  public.unlink_contacts_from_company(encode(sha256('ua'), 'hex'), 'c07a0000-0000-4000-8000-000000000001', array[
    '7b000000-0000-4000-8000-000000000001', '7a000000-0000-4000-8000-000000000001', '7a000000-0000-4000-8000-000000000002',
    '7a000000-0000-4000-8000-000000000004', '7a000000-0000-4000-8000-000000000005', '7dead000-0000-4000-8000-000000000001',
    '7a000000-0000-4000-8000-000000000001']::uuid[])->'data',
  '{"updated": 4, "failed": 2, "failed_ids": ["7b000000-0000-4000-8000-000000000001", "7dead000-0000-4000-8000-000000000001"]}'::jsonb,
  'counts: the org''s contacts not at the company after the call, and the rest failed'
);
select ok(public.unlink_contacts_from_company(encode(sha256('ua'), 'hex'), 'c07a0000-0000-4000-8000-000000000001',
  array['7a000000-0000-4000-8000-000000000003']::uuid[]) ? 'rate_limit', 'the answer carries the rate-limit state');
reset role;

select is((select company_id from public.contacts where id = '7a000000-0000-4000-8000-000000000001'), null, 'contact 1 unlinked');
select is((select company_id from public.contacts where id = '7a000000-0000-4000-8000-000000000003'), null, 'contact 3 unlinked');
select is((select company_id from public.contacts where id = '7a000000-0000-4000-8000-000000000004'),
  'c07a0000-0000-4000-8000-000000000002'::uuid, 'contact 4 stays at the other company');
select is((select updated_at from public.contacts where id = '7a000000-0000-4000-8000-000000000004'),
  '2001-01-01'::timestamptz, 'an untouched row keeps its updated_at');
select is((select updated_at from public.contacts where id = '7a000000-0000-4000-8000-000000000002'), now(), 'a changed row gets updated_at = now()');
select is((select company_id from public.contacts where id = '7b000000-0000-4000-8000-000000000001'),
  'c07b0000-0000-4000-8000-000000000001'::uuid, 'another org''s contact is untouched');
-- Counted: the 403, the two 404s and the two calls that did work; not the invalid key.
select is((select sum(day_used)::int from public.api_usage where org_id = '0f7a0000-0000-4000-8000-000000000001'), 5,
  'every call with a valid key counts, refusals by the function included');

select * from finish();
rollback;
