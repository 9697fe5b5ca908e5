-- list_company_contacts(p_key_hash, p_company_id, p_page, p_per_page, p_now, p_after_created_at,
-- p_after_id) returns jsonb.
-- Called as service_role, the role PostgREST uses in production.
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(14);
grant usage on schema tap to service_role;

select has_function('public', 'list_company_contacts', array['text', 'uuid', 'integer', 'integer', 'timestamp with time zone', 'text', 'uuid'],
  'list_company_contacts(text, uuid, integer, integer, timestamptz, text, uuid) exists');

-- Fixture: org A with company A1 holding contacts 1-3 (created in reverse id order, 2 and 3 at the
-- same instant) and A2 holding contact 4; org B with B1 holding one contact. Keys by hash: 'lr'
-- (contacts:read) and 'lw' (contacts:write), A's.
insert into public.orgs (id, name, plan) values
  ('0f8a0000-0000-4000-8000-000000000001', 'List Org A', 'pro'),
  ('0f8b0000-0000-4000-8000-000000000002', 'List Org B', 'pro');
insert into public.companies (id, org_id, name) values
  ('c08a0000-0000-4000-8000-000000000001', '0f8a0000-0000-4000-8000-000000000001', 'A1'),
  ('c08a0000-0000-4000-8000-000000000002', '0f8a0000-0000-4000-8000-000000000001', 'A2'),
  ('c08b0000-0000-4000-8000-000000000001', '0f8b0000-0000-4000-8000-000000000002', 'B1');
insert into public.contacts (id, org_id, company_id, full_name, email, created_at, updated_at) values
  ('8a000000-0000-4000-8000-000000000001', '0f8a0000-0000-4000-8000-000000000001', 'c08a0000-0000-4000-8000-000000000001', 'One', 'one@example.com', '2030-01-01 00:00:02+00', '2030-01-02 03:04:05.678+00'),
  ('8a000000-0000-4000-8000-000000000003', '0f8a0000-0000-4000-8000-000000000001', 'c08a0000-0000-4000-8000-000000000001', 'Three', null, '2030-01-01 00:00:01+00', '2030-01-01 00:00:01+00'),
  ('8a000000-0000-4000-8000-000000000002', '0f8a0000-0000-4000-8000-000000000001', 'c08a0000-0000-4000-8000-000000000001', null, 'two@example.com', '2030-01-01 00:00:01+00', '2030-01-01 00:00:01+00'),
  ('8a000000-0000-4000-8000-000000000004', '0f8a0000-0000-4000-8000-000000000001', 'c08a0000-0000-4000-8000-000000000002', 'Four', null, '2030-01-01 00:00:00+00', '2030-01-01 00:00:00+00'),
  ('8b000000-0000-4000-8000-000000000001', '0f8b0000-0000-4000-8000-000000000002', 'c08b0000-0000-4000-8000-000000000001', 'B', null, '2030-01-01 00:00:00+00', '2030-01-01 00:00:00+00');
insert into public.api_keys (org_id, key_hash, prefix, permissions) values
  ('0f8a0000-0000-4000-8000-000000000001', encode(sha256('lr'), 'hex'), 'wbk_lr', '{contacts:read}'),
  ('0f8a0000-0000-4000-8000-000000000001', encode(sha256('lw'), 'hex'), 'wbk_lw', '{contacts:write}');

set local role service_role;
-- Not the session's TimeZone: timestamps come out in UTC whatever it is.
set local timezone = 'Asia/Kolkata';

select is(public.list_company_contacts(encode(sha256('lw'), 'hex'), 'c08a0000-0000-4000-8000-000000000001', 1, 50)->>'outcome',
  'insufficient_permissions', 'scopes are exact: contacts:write does not read');
select is(public.list_company_contacts(encode(sha256('lr'), 'hex'), 'c08b0000-0000-4000-8000-000000000001', 1, 50)->>'outcome',
  'company_not_found', 'another org''s company: company_not_found');
select is(public.list_company_contacts(encode(sha256('zz'), 'hex'), 'c08a0000-0000-4000-8000-000000000001', 1, 50),
  '{"outcome": "invalid_key"}'::jsonb, 'an unknown key: invalid_key');

select is(
  public.list_company_contacts(encode(sha256('lr'), 'hex'), 'c08a0000-0000-4000-8000-000000000001', 1, 50)->'data',
  $json${"total": 3, "has_more": false, "contacts": [
    {"id": "8a000000-0000-4000-8000-000000000002", "email": "two@example.com", "full_name": null,
     "company_id": "c08a0000-0000-4000-8000-000000000001",
     "created_at": "2030-01-01T00:00:01.000000Z", "updated_at": "2030-01-01T00:00:01.000000Z"},
    {"id": "8a000000-0000-4000-8000-000000000003", "email": null, "full_name": "Three",
     "company_id": "c08a0000-0000-4000-8000-000000000001",
     "created_at": "2030-01-01T00:00:01.000000Z", "updated_at": "2030-01-01T00:00:01.000000Z"},
    {"id": "8a000000-0000-4000-8000-000000000001", "email": "one@example.com", "full_name": "One",
     "company_id": "c08a0000-0000-4000-8000-000000000001",
     "created_at": "2030-01-01T00:00:02.000000Z", "updated_at": "2030-01-02T03:04:05.678000Z"}]}$json$::jsonb,
  'the company''s contacts, by created_at then id, every field, UTC timestamps'
);
select is(
  (select jsonb_agg(c->>'id') from jsonb_array_elements(
    public.list_company_contacts(encode(sha256('lr'), 'hex'), 'c08a0000-0000-4000-8000-000000000001', 2, 2)->'data'->'contacts') c),
  '["8a000000-0000-4000-8000-000000000001"]'::jsonb, 'page 2 of 2 per page holds the third'
);
select is(
  public.list_company_contacts(encode(sha256('lr'), 'hex'), 'c08a0000-0000-4000-8000-000000000001', 2147483647, 100)->'data',
  '{"total": 3, "has_more": false, "contacts": []}'::jsonb, 'a page far past the end is empty, without overflow'
);
select is(
  public.list_company_contacts(encode(sha256('lr'), 'hex'), 'c08a0000-0000-4000-8000-000000000001', 0, -5)->'data',
  '{"total": 3, "has_more": true, "contacts": []}'::jsonb, 'out-of-range arguments from a direct caller do not fail'
);
select is(
  (select jsonb_agg(c->>'id') from jsonb_array_elements(
    public.list_company_contacts(encode(sha256('lr'), 'hex'), 'c08a0000-0000-4000-8000-000000000001', 1, 1,
      null, '2030-01-01T00:00:01Z', '8a000000-0000-4000-8000-000000000002')->'data'->'contacts') c),
  '["8a000000-0000-4000-8000-000000000003"]'::jsonb, 'by cursor: the row after the position, the tie by id'
);
select is(
  public.list_company_contacts(encode(sha256('lr'), 'hex'), 'c08a0000-0000-4000-8000-000000000001', 1, 50,
    null, '2030-01-01T00:00:01Z', '8a000000-0000-4000-8000-000000000003')->'data',
  $json${"total": null, "has_more": false, "contacts": [
    {"id": "8a000000-0000-4000-8000-000000000001", "email": "one@example.com", "full_name": "One",
     "company_id": "c08a0000-0000-4000-8000-000000000001",
     "created_at": "2030-01-01T00:00:02.000000Z", "updated_at": "2030-01-02T03:04:05.678000Z"}]}$json$::jsonb,
  'by cursor: no count, and nothing more'
);
select ok(
  public.list_company_contacts(encode(sha256('lr'), 'hex'), 'c08a0000-0000-4000-8000-000000000002', 1, 1) ? 'rate_limit',
  'the answer carries the rate-limit state'
);
reset role;

select is((select sum(day_used)::int from public.api_usage where org_id = '0f8a0000-0000-4000-8000-000000000001'), 9,
  'every call with a valid key counts');
select is((select count(*)::int from public.contacts where updated_at = now()), 0, 'reading writes no contact');
select isnt_empty($$select 1 from pg_indexes where indexname = 'contacts_company_page_idx'$$, 'pages are served by an index');

select * from finish();
rollback;
