-- authenticate_api_key(p_key_hash): the active key with this hash (org, key id, permissions,
-- last_used_at), or no row. Called as service_role, the role PostgREST uses in production.
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(17);

grant usage on schema tap to service_role;

-- Contract: name, argument, result columns (supabase-js calls it with named arguments).
select has_function('public', 'authenticate_api_key', array['text'], 'authenticate_api_key(text) exists');
select is(
  (select proargnames from pg_proc where oid = 'public.authenticate_api_key(text)'::regprocedure),
  array['p_key_hash', 'org_id', 'key_id', 'permissions', 'last_used_at'],
  'authenticate_api_key takes p_key_hash and returns org_id, key_id, permissions, last_used_at'
);
select is(
  pg_get_function_result('public.authenticate_api_key(text)'::regprocedure),
  'TABLE(org_id uuid, key_id uuid, permissions text[], last_used_at timestamp with time zone)',
  'authenticate_api_key returns TABLE(org_id uuid, key_id uuid, permissions text[], last_used_at timestamptz)'
);

-- Fixture ---------------------------------------------------------------------------------------------
insert into public.orgs (id, name) values
  ('0f4a0000-0000-4000-8000-000000000001', 'Auth Org A'),
  ('0f4b0000-0000-4000-8000-000000000002', 'Auth Org B');

insert into public.api_keys (id, org_id, name, key_hash, prefix, permissions, expires_at, revoked_at, last_used_at) values
  -- active, never used, no expiry
  ('4e100000-0000-4000-8000-000000000001', '0f4a0000-0000-4000-8000-000000000001', 'active',
   repeat('1', 64), 'wbk_11111111', array['contacts:write', 'companies:read'], null, null, null),
  -- active, used before
  ('4e100000-0000-4000-8000-000000000002', '0f4a0000-0000-4000-8000-000000000001', 'used',
   repeat('2', 64), 'wbk_22222222', array['contacts:write'], null, null, '2020-02-02 02:02:02+00'),
  -- expires tomorrow
  ('4e100000-0000-4000-8000-000000000003', '0f4a0000-0000-4000-8000-000000000001', 'expires later',
   repeat('3', 64), 'wbk_33333333', array['contacts:write'], now() + interval '1 day', null, null),
  -- expired a second ago
  ('4e100000-0000-4000-8000-000000000004', '0f4a0000-0000-4000-8000-000000000001', 'expired',
   repeat('4', 64), 'wbk_44444444', array['contacts:write'], now() - interval '1 second', null, null),
  -- revoked yesterday
  ('4e100000-0000-4000-8000-000000000005', '0f4a0000-0000-4000-8000-000000000001', 'revoked',
   repeat('5', 64), 'wbk_55555555', array['contacts:write'], null, now() - interval '1 day', null),
  -- revoked, although its expiry is in the future
  ('4e100000-0000-4000-8000-000000000006', '0f4a0000-0000-4000-8000-000000000001', 'revoked, not expired',
   repeat('6', 64), 'wbk_66666666', array['contacts:write'], now() + interval '1 day', now() - interval '1 hour', null),
  -- org B's key, no permissions
  ('4e100000-0000-4000-8000-000000000007', '0f4b0000-0000-4000-8000-000000000002', 'org B',
   repeat('7', 64), 'wbk_77777777', '{}', null, null, null);

-- Calls as service_role --------------------------------------------------------------------------------
set local role service_role;

select results_eq(
  $$select org_id, key_id, permissions, last_used_at from public.authenticate_api_key(repeat('1', 64))$$,
  $$values ('0f4a0000-0000-4000-8000-000000000001'::uuid, '4e100000-0000-4000-8000-000000000001'::uuid,
            array['contacts:write', 'companies:read']::text[], null::timestamptz)$$,
  'an active key returns exactly one row: its org, its id, its permissions and last_used_at (null: never used)'
);
select results_eq(
  $$select org_id, key_id, permissions, last_used_at from public.authenticate_api_key(repeat('2', 64))$$,
  $$values ('0f4a0000-0000-4000-8000-000000000001'::uuid, '4e100000-0000-4000-8000-000000000002'::uuid,
            array['contacts:write']::text[], '2020-02-02 02:02:02+00'::timestamptz)$$,
  'an active key that was used returns its last_used_at'
);
select results_eq(
  $$select org_id, key_id from public.authenticate_api_key(repeat('3', 64))$$,
  $$values ('0f4a0000-0000-4000-8000-000000000001'::uuid, '4e100000-0000-4000-8000-000000000003'::uuid)$$,
  'a key whose expires_at is in the future works'
);
select is_empty(
  $$select * from public.authenticate_api_key(repeat('4', 64))$$,
  'an expired key (expires_at in the past) returns no row'
);
select is_empty(
  $$select * from public.authenticate_api_key(repeat('5', 64))$$,
  'a revoked key (revoked_at set) returns no row'
);
select is_empty(
  $$select * from public.authenticate_api_key(repeat('6', 64))$$,
  'a revoked key returns no row even when it has not expired'
);
select is_empty(
  $$select * from public.authenticate_api_key(repeat('8', 64))$$,
  'an unknown hash returns no row'
);
select is_empty(
  $$select * from public.authenticate_api_key('')$$,
  'an empty hash returns no row'
);
select is_empty(
  $$select * from public.authenticate_api_key(null)$$,
  'a null hash returns no row'
);
select results_eq(
  $$select org_id, key_id, permissions from public.authenticate_api_key(repeat('7', 64))$$,
  $$values ('0f4b0000-0000-4000-8000-000000000002'::uuid, '4e100000-0000-4000-8000-000000000007'::uuid, '{}'::text[])$$,
  'another org''s key resolves to that org (and an empty permission list stays empty)'
);

reset role;

-- Authenticating is read-only: it does not record a use ---------------------------------------------
select results_eq(
  $$select id, last_used_at from public.api_keys where org_id in ('0f4a0000-0000-4000-8000-000000000001', '0f4b0000-0000-4000-8000-000000000002') order by id$$,
  $$values ('4e100000-0000-4000-8000-000000000001'::uuid, null::timestamptz),
           ('4e100000-0000-4000-8000-000000000002'::uuid, '2020-02-02 02:02:02+00'::timestamptz),
           ('4e100000-0000-4000-8000-000000000003'::uuid, null::timestamptz),
           ('4e100000-0000-4000-8000-000000000004'::uuid, null::timestamptz),
           ('4e100000-0000-4000-8000-000000000005'::uuid, null::timestamptz),
           ('4e100000-0000-4000-8000-000000000006'::uuid, null::timestamptz),
           ('4e100000-0000-4000-8000-000000000007'::uuid, null::timestamptz)$$,
  'authenticate_api_key changed no last_used_at'
);

-- Revoking or expiring a key takes effect on the next lookup -------------------------------------------
update public.api_keys set revoked_at = now() where id = '4e100000-0000-4000-8000-000000000001';
update public.api_keys set expires_at = now() - interval '1 minute' where id = '4e100000-0000-4000-8000-000000000002';
update public.api_keys set revoked_at = null where id = '4e100000-0000-4000-8000-000000000005';

set local role service_role;
select is_empty(
  $$select * from public.authenticate_api_key(repeat('1', 64))$$,
  'a key revoked just now returns no row'
);
select is_empty(
  $$select * from public.authenticate_api_key(repeat('2', 64))$$,
  'a key that expired a minute ago returns no row'
);
select results_eq(
  $$select key_id from public.authenticate_api_key(repeat('5', 64))$$,
  $$values ('4e100000-0000-4000-8000-000000000005'::uuid)$$,
  'a key whose revocation is cleared works again'
);
reset role;

select * from finish();
rollback;
