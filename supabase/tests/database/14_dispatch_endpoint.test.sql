-- The Idempotency-Key calls of endpoint functions, generated from the catalog: each endpoint
-- function's form, public.<fn>_idempotent (what the gateway calls), and api_idempotent_call's
-- dispatch (for gateways deployed before the forms). What is in place is what a build makes now,
-- so a migration that added or changed an endpoint function and forgot
-- `select internal.build_dispatch_endpoint();` fails here. A call api_idempotent_call's static
-- branches cannot pass exactly goes to internal.call_endpoint, which answers it alike (which path
-- ran is told by call_endpoint's session cache, a setting it writes on first use).
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(23);

select ok(internal.dispatch_endpoint_is_current(),
  'the forms and api_idempotent_call are what internal.build_dispatch_endpoint() makes from the catalog now (else: end the migration that changed an endpoint function with that call)');
select ok((select p.prosrc like '%v_result := public.link_contacts_to_company(p_key_hash => p_key_hash, p_company_id => p_company_id, p_contact_ids => p_contact_ids, p_now => p_now);%'
           from pg_proc p where p.oid = 'public.link_contacts_to_company_idempotent'::regproc),
  'link''s form calls it with its own arguments, by name');
select is((select pg_get_function_arguments(p.oid) from pg_proc p
           where p.oid = 'public.link_contacts_to_company_idempotent'::regproc),
  'p_permission text, p_idempotency_key text, p_request text, p_method text, p_path text, p_key_hash text, p_company_id uuid, p_contact_ids uuid[], p_now timestamp with time zone DEFAULT NULL::timestamp with time zone',
  '... which it takes as link does, after the header''s');
select is((select array_agg(f.fn order by f.fn) from internal.idempotent_forms() f
           where not exists (select 1 from pg_proc p where p.proname::text = f.form
                               and p.pronamespace = 'public'::regnamespace)),
  null, 'every endpoint function has its form');
select is((select array_agg(p.proname order by p.proname) from pg_proc p
           where p.pronamespace = 'public'::regnamespace and p.proname like '%\_idempotent'
             and (not has_function_privilege('service_role', p.oid, 'execute')
                  or has_function_privilege('anon', p.oid, 'execute')
                  or has_function_privilege('authenticated', p.oid, 'execute'))),
  null, 'every form is executable by service_role only');
select ok((select p.prosrc like '%v_result := public.link_contacts_to_company(p_key_hash => p_key_hash, p_now => p_now, p_company_id => args_link_contacts_to_company.p_company_id%'
           from pg_proc p where p.oid = 'public.api_idempotent_call(text, jsonb, text, text, text, text, text, text, timestamptz)'::regprocedure),
  'api_idempotent_call calls the endpoint function itself, its arguments from their composite type');

-- An org and a key for the calls, and an endpoint function with a non-NULL default, added after
-- the last build.
insert into public.orgs (id, name, plan) values
  ('0f140000-0000-4000-8000-000000000001', 'Dispatch Org', 'starter');
insert into public.api_keys (org_id, key_hash, prefix, permissions) values
  ('0f140000-0000-4000-8000-000000000001', repeat('14', 32), 'wbk_dispatch', array['contacts:write']);
create function public.tap_endpoint(p_key_hash text, p_n integer default 7, p_note text default null,
  p_now timestamptz default null)
returns jsonb language sql set search_path = '' as $$
  select jsonb_build_object('outcome', 'ok', 'data',
    jsonb_build_object('n', p_n, 'note', p_note, 'now', p_now, 'key', p_key_hash))
$$;
-- A first request under a key of its own each time (a replay would not dispatch).
create function tap.call_tap_endpoint(p_args jsonb, p_now timestamptz default null)
returns jsonb language sql as $$
  select public.api_idempotent_call('tap_endpoint', p_args, repeat('14', 32), 'contacts:write',
    gen_random_uuid()::text, p_args::text, 'post', '/tap', p_now)
$$;

select ok(not internal.dispatch_endpoint_is_current(),
  'a new endpoint function makes the build out of date');
select is(tap.call_tap_endpoint('{"p_n": 3}') #>> '{data,n}', '3',
  'before a build, a new endpoint function is called through call_endpoint');
select isnt(current_setting('api_gateway.call_tap_endpoint', true), '',
  '... which it was (call_endpoint cached its statement)');

select internal.build_dispatch_endpoint();
select ok(internal.dispatch_endpoint_is_current(), 'after a build, it is current');
select is((select string_agg(a.attname || ' ' || format_type(a.atttypid, null), ', ' order by a.attnum)
           from pg_attribute a where a.attrelid = 'internal.args_tap_endpoint'::regclass and a.attnum > 0),
  'p_n integer, p_note text', '... with a composite type of the new function''s own arguments');
select set_config('api_gateway.call_tap_endpoint', '', true);
select is(tap.call_tap_endpoint('{"p_n": 3, "p_note": "x"}', '2030-01-01Z'),
  '{"outcome": "ok", "data": {"n": 3, "note": "x", "now": "2030-01-01T00:00:00+00:00", "key": "1414141414141414141414141414141414141414141414141414141414141414"}}'::jsonb,
  'its static branch passes every argument, p_key_hash and p_now included');
select is(current_setting('api_gateway.call_tap_endpoint', true), '',
  '... without call_endpoint');
select is(tap.call_tap_endpoint('{}') #>> '{data,n}', '7',
  'an argument with a non-NULL default, left out, takes its default (through call_endpoint)');
select throws_ok($$select tap.call_tap_endpoint('{"p_n": 1, "p_other": 2}')$$,
  '42883', null, 'an argument the function does not take is refused, as call_endpoint refuses it');

-- Its form, made by the same build.
select is(public.tap_endpoint_idempotent(p_key_hash => repeat('14', 32), p_n => 3, p_note => 'x',
    p_permission => 'contacts:write', p_idempotency_key => gen_random_uuid()::text,
    p_request => '["a"]', p_method => 'post', p_path => '/tap', p_now => '2030-01-01Z'),
  '{"outcome": "ok", "data": {"n": 3, "note": "x", "now": "2030-01-01T00:00:00+00:00", "key": "1414141414141414141414141414141414141414141414141414141414141414"}}'::jsonb,
  'its form passes every argument, p_key_hash and p_now included');
select is(public.tap_endpoint_idempotent(p_key_hash => repeat('14', 32),
    p_permission => 'contacts:write', p_idempotency_key => gen_random_uuid()::text,
    p_request => '["b"]', p_method => 'post', p_path => '/tap') #>> '{data,n}', '7',
  'an argument left out of the form takes the function''s own default');
select is((select count(*)::int from public.idempotency_records
           where org_id = '0f140000-0000-4000-8000-000000000001'), 5,
  'each call that answered stored its record');

-- api_idempotent_call's own guard of p_args comes before the record: a key with a stored answer
-- does not replay it to a call whose p_args would name the key's hash.
select is(public.api_idempotent_call('tap_endpoint', '{"p_n": 1}', repeat('14', 32), 'contacts:write',
    'guarded', '["g"]', 'post', '/tap') #>> '{data,n}', '1', 'a first call under a key');
select throws_ok($$select public.api_idempotent_call('tap_endpoint', '{"p_key_hash": "x"}',
    repeat('14', 32), 'contacts:write', 'guarded', '["g"]', 'post', '/tap')$$,
  '22023', 'api_idempotent_call: malformed arguments',
  'p_args naming p_key_hash is refused, even under a key with a stored answer');

create function public.tap_refused(p_key_hash text, p_path text) returns jsonb
language sql set search_path = '' as $$ select '{}'::jsonb $$;
select throws_ok('select internal.build_dispatch_endpoint()', '42P13',
  'internal.build_dispatch_endpoint: public.tap_refused cannot have an Idempotency-Key form: an argument named as one of the header''s',
  'an endpoint function that cannot have a form fails the build, named');
drop function public.tap_refused(text, text);

drop function public.tap_endpoint(text, integer, text, timestamptz);
select ok(not internal.dispatch_endpoint_is_current(),
  'a form whose function is gone makes the build out of date');
select internal.build_dispatch_endpoint();
select ok(to_regproc('public.tap_endpoint_idempotent') is null and internal.dispatch_endpoint_is_current(),
  'a build drops it');

select * from finish();
rollback;
