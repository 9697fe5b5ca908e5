-- The RPCs must also work where service_role lacks BYPASSRLS (the migration gives it explicit RLS
-- policies for that case). Needs a superuser to take the attribute away inside this transaction
-- (rolled back with everything else); elsewhere (e.g. a Supabase stack, where postgres is not a
-- superuser) the tests are skipped.
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(6);

grant usage on schema tap to service_role;

select (select rolsuper from pg_roles where rolname = current_user) as is_superuser \gset
\if :is_superuser
alter role service_role nobypassrls;

insert into public.orgs (id, name) values ('0f7a0000-0000-4000-8000-000000000001', 'RLS Org');
insert into public.api_keys (id, org_id, key_hash, permissions) values
  ('7e100000-0000-4000-8000-000000000001', '0f7a0000-0000-4000-8000-000000000001', repeat('7a', 32), array['contacts:write']);
insert into public.companies (id, org_id, name) values
  ('c07a0000-0000-4000-8000-000000000001', '0f7a0000-0000-4000-8000-000000000001', 'RLS Co');
insert into public.contacts (id, org_id, full_name, updated_at) values
  ('7a000000-0000-4000-8000-000000000001', '0f7a0000-0000-4000-8000-000000000001', 'RLS contact', '2001-01-01 00:00:00+00');

select is(
  (select rolbypassrls from pg_roles where rolname = 'service_role'),
  false,
  'service_role runs without BYPASSRLS in this file'
);

set local role service_role;
select results_eq(
  $$select org_id, key_id, permissions, last_used_at from public.authenticate_api_key(repeat('7a', 32))$$,
  $$values ('0f7a0000-0000-4000-8000-000000000001'::uuid, '7e100000-0000-4000-8000-000000000001'::uuid,
            array['contacts:write']::text[], null::timestamptz)$$,
  'without BYPASSRLS, authenticate_api_key finds an active key'
);
select lives_ok(
  $$select public.touch_api_key('7e100000-0000-4000-8000-000000000001')$$,
  'without BYPASSRLS, touch_api_key runs'
);
select is(
  public.link_contacts_to_company(
    '0f7a0000-0000-4000-8000-000000000001', 'c07a0000-0000-4000-8000-000000000001',
    array['7a000000-0000-4000-8000-000000000001', '7adead00-0000-4000-8000-000000000001']::uuid[]),
  '{"company_found": true, "updated": 1, "failed": 1, "failed_ids": ["7adead00-0000-4000-8000-000000000001"]}'::jsonb,
  'without BYPASSRLS, link_contacts_to_company finds the company and the contact'
);
reset role;

select is(
  (select last_used_at from public.api_keys where id = '7e100000-0000-4000-8000-000000000001'),
  now(),
  'without BYPASSRLS, touch_api_key recorded the use'
);
select results_eq(
  $$select company_id, updated_at = now() from public.contacts where id = '7a000000-0000-4000-8000-000000000001'$$,
  $$values ('c07a0000-0000-4000-8000-000000000001'::uuid, true)$$,
  'without BYPASSRLS, link_contacts_to_company updated the contact'
);

\else
select skip('needs a superuser to run service_role without BYPASSRLS', 6);
\endif

select * from finish();
rollback;
