-- The RPCs must also work where service_role lacks BYPASSRLS (the migrations give it explicit RLS
-- policies on every table for that case): with RLS hiding rows, api_authorize would see no key, no
-- plan or no usage row, and purge_api_usage would delete nothing, silently. Needs a superuser to
-- take the attribute away inside this transaction (rolled back with everything else); elsewhere
-- (e.g. a Supabase stack, where postgres is not a superuser) the tests are skipped.
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(10);

grant usage on schema tap to service_role;

select (select rolsuper from pg_roles where rolname = current_user) as is_superuser \gset
\if :is_superuser
alter role service_role nobypassrls;

insert into public.orgs (id, name, plan, rate_limit_per_minute) values
  ('0f7a0000-0000-4000-8000-000000000001', 'RLS Org', 'pro', 2);
insert into public.api_keys (id, org_id, key_hash, prefix, permissions) values
  ('7e100000-0000-4000-8000-000000000001', '0f7a0000-0000-4000-8000-000000000001', repeat('7a', 32), 'wbk_rls', array['contacts:write']);
insert into public.companies (id, org_id, name) values
  ('c07a0000-0000-4000-8000-000000000001', '0f7a0000-0000-4000-8000-000000000001', 'RLS Co');
insert into public.contacts (id, org_id, full_name, updated_at) values
  ('7a000000-0000-4000-8000-000000000001', '0f7a0000-0000-4000-8000-000000000001', 'RLS contact', '2001-01-01 00:00:00+00');
insert into public.api_usage (org_id, day, day_used, minute, minute_used) values
  ('0f7a0000-0000-4000-8000-000000000001', '2030-01-01', 5, '2030-01-01 12:00:00+00', 5);

select is(
  (select rolbypassrls from pg_roles where rolname = 'service_role'),
  false,
  'service_role runs without BYPASSRLS in this file'
);

set local role service_role;
select is(
  public.api_authorize(repeat('7a', 32), 'contacts:write', '2030-01-15 12:00:30+00'),
  '{"outcome": "ok", "org_id": "0f7a0000-0000-4000-8000-000000000001", "key_prefix": "wbk_rls",
    "rate_limit": {"minute": {"limit": 2, "remaining": 1, "reset": 1894708860, "reset_in": 30},
                   "day": {"limit": 1000, "remaining": 999, "reset": 1894752000, "reset_in": 43170}}}'::jsonb,
  'without BYPASSRLS, api_authorize finds the key, its org''s override and plan, and inserts the usage row'
);
select is(
  public.link_contacts_to_company(repeat('7a', 32), 'c07a0000-0000-4000-8000-000000000001',
    array['7a000000-0000-4000-8000-000000000001', '7adead00-0000-4000-8000-000000000001']::uuid[],
    '2030-01-15 12:00:30+00') - 'rate_limit',
  '{"outcome": "ok", "org_id": "0f7a0000-0000-4000-8000-000000000001", "key_prefix": "wbk_rls",
    "data": {"updated": 1, "failed": 1, "failed_ids": ["7adead00-0000-4000-8000-000000000001"]}}'::jsonb,
  'without BYPASSRLS, link_contacts_to_company updates the usage row and finds the company and the contact'
);
select is(
  public.api_authorize(repeat('7a', 32), 'contacts:write', '2030-01-15 12:00:30+00') -> 'rate_limit',
  '{"window": "minute", "minute": {"limit": 2, "remaining": 0, "reset": 1894708860, "reset_in": 30},
    "day": {"limit": 1000, "remaining": 998, "reset": 1894752000, "reset_in": 43170}}'::jsonb,
  'without BYPASSRLS, a refusal reads the usage row it reports'
);
select is(public.purge_api_usage('2030-01-15 12:00:30+00'), 1, 'without BYPASSRLS, purge_api_usage sees and deletes the old row');
select results_eq(
  $$select day, sum(day_used)::int, max(minute), sum(minute_used)::int from public.api_usage
    where org_id = '0f7a0000-0000-4000-8000-000000000001' group by day$$,
  $$values ('2030-01-15'::date, 2, '2030-01-15 12:00:00+00'::timestamptz, 2)$$,
  'without BYPASSRLS, service_role reads the usage row: the two counted requests'
);
reset role;

select is(
  (select last_used_at from public.api_keys where id = '7e100000-0000-4000-8000-000000000001'),
  '2030-01-15 12:00:30+00'::timestamptz,
  'without BYPASSRLS, api_authorize recorded the use'
);
select results_eq(
  $$select company_id, updated_at = now() from public.contacts where id = '7a000000-0000-4000-8000-000000000001'$$,
  $$values ('c07a0000-0000-4000-8000-000000000001'::uuid, true)$$,
  'without BYPASSRLS, link_contacts_to_company updated the contact'
);
select is(
  (select count(*) from public.api_usage where org_id = '0f7a0000-0000-4000-8000-000000000001' and day = '2030-01-01'),
  0::bigint,
  'the purged row is gone'
);
select is_empty(
  $$select c.oid::regclass::text
    from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
      and not exists (select 1 from pg_policies p
                      where p.schemaname = 'public' and p.tablename = c.relname
                        and p.roles @> array['service_role']::name[] and p.cmd = 'ALL')$$,
  'every table in public has a policy for service_role covering all commands (tables without listed)'
);

\else
select skip('needs a superuser to run service_role without BYPASSRLS', 10);
\endif

select * from finish();
rollback;
