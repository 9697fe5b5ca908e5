-- api_idempotent_call keeps a key's org in the session (a statement less per request). What that
-- must not change, in one session: a key revoked after its org was kept is still refused, and its
-- refusal is not stored; a key's hash inserted anew in another org (a fixture's doing: a key's org
-- cannot change otherwise) gets its record in the org that did the work.
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(7);

create function tap.kh(p_key text) returns text
language sql immutable
as $$ select encode(sha256(convert_to(p_key, 'UTF8')), 'hex') $$;

insert into public.orgs (id, name, plan) values
  ('0f150000-0000-4000-8000-000000000001', 'Idempotent Org A', 'org'),
  ('0f150000-0000-4000-8000-000000000002', 'Idempotent Org B', 'org');
insert into public.companies (id, org_id, name) values
  ('c0150000-0000-4000-8000-000000000001', '0f150000-0000-4000-8000-000000000001', 'A1'),
  ('c0150000-0000-4000-8000-000000000002', '0f150000-0000-4000-8000-000000000002', 'B1');
insert into public.contacts (id, org_id, full_name) values
  ('15000000-0000-4000-8000-000000000001', '0f150000-0000-4000-8000-000000000001', 'A contact'),
  ('15000000-0000-4000-8000-000000000002', '0f150000-0000-4000-8000-000000000002', 'B contact');
insert into public.api_keys (org_id, key_hash, prefix, permissions) values
  ('0f150000-0000-4000-8000-000000000001', tap.kh('wbk_idem_a'), 'wbk_idem_a', '{contacts:write}');

create function tap.link(p_idempotency_key text, p_company uuid, p_contact uuid) returns jsonb
language sql
as $$
  select public.api_idempotent_call('link_contacts_to_company',
    jsonb_build_object('p_company_id', p_company, 'p_contact_ids', array[p_contact]),
    tap.kh('wbk_idem_a'), 'contacts:write', p_idempotency_key, p_idempotency_key,
    'post', '/v1/companies/{id}/contacts/link')
$$;

select is(tap.link('first', 'c0150000-0000-4000-8000-000000000001', '15000000-0000-4000-8000-000000000001') ->> 'outcome',
  'ok', 'a first request does the work');
select is(current_setting('api_gateway.org_of_' || tap.kh('wbk_idem_a'), true),
  '0f150000-0000-4000-8000-000000000001', 'and the session keeps the key''s org');

update public.api_keys set revoked_at = now() - interval '1 second' where key_hash = tap.kh('wbk_idem_a');
select is(tap.link('second', 'c0150000-0000-4000-8000-000000000001', '15000000-0000-4000-8000-000000000001') ->> 'outcome',
  'invalid_key', 'a key revoked after its org was kept is refused');
select is((select count(*)::int from public.idempotency_records r
           where r.org_id = '0f150000-0000-4000-8000-000000000001'), 1,
  'and its refusal is not stored');
select is(tap.link('first', 'c0150000-0000-4000-8000-000000000001', '15000000-0000-4000-8000-000000000001') ->> 'outcome',
  'invalid_key', 'nor is the stored answer replayed to it');

-- The key's hash, now org B's.
delete from public.api_keys where key_hash = tap.kh('wbk_idem_a');
insert into public.api_keys (org_id, key_hash, prefix, permissions) values
  ('0f150000-0000-4000-8000-000000000002', tap.kh('wbk_idem_a'), 'wbk_idem_a', '{contacts:write}');
select is(tap.link('third', 'c0150000-0000-4000-8000-000000000002', '15000000-0000-4000-8000-000000000002') #>> '{data,updated}',
  '1', 'the same hash in org B works for org B');
select is((select r.org_id::text from public.idempotency_records r
           where r.key_hash = sha256(convert_to('third', 'UTF8'))),
  '0f150000-0000-4000-8000-000000000002', 'and its record is org B''s, not the org the session kept');

select * from finish();
rollback;
