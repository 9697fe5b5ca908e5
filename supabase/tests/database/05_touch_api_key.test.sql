-- touch_api_key(p_key_id): records a use of a key at most once a minute. Called as service_role.
-- now() is fixed for the whole transaction, so "time passing" is staged by moving last_used_at back.
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(22);

grant usage on schema tap to service_role;

select has_function('public', 'touch_api_key', array['uuid'], 'touch_api_key(uuid) exists');
select is(
  (select proargnames from pg_proc where oid = 'public.touch_api_key(uuid)'::regprocedure),
  array['p_key_id']::text[],
  'touch_api_key takes p_key_id'
);
select function_returns('public', 'touch_api_key', array['uuid'], 'void', 'touch_api_key returns void');
select volatility_is('public', 'touch_api_key', array['uuid'], 'volatile',
  'touch_api_key is volatile (PostgREST runs stable/immutable RPCs in a read-only transaction)');

insert into public.orgs (id, name) values ('0f5a0000-0000-4000-8000-000000000001', 'Touch Org');
insert into public.api_keys (id, org_id, key_hash, last_used_at) values
  ('5e100000-0000-4000-8000-000000000001', '0f5a0000-0000-4000-8000-000000000001', repeat('a1', 32), null),
  ('5e100000-0000-4000-8000-000000000002', '0f5a0000-0000-4000-8000-000000000001', repeat('a2', 32), null),
  ('5e100000-0000-4000-8000-000000000003', '0f5a0000-0000-4000-8000-000000000001', repeat('a3', 32), '2020-03-03 03:03:03+00');

-- Never used: the first touch records now() -----------------------------------------------------------
set local role service_role;
select lives_ok($$select public.touch_api_key('5e100000-0000-4000-8000-000000000001')$$, 'service_role touches a never-used key');
reset role;
select is(
  (select last_used_at from public.api_keys where id = '5e100000-0000-4000-8000-000000000001'),
  now(),
  'a never-used key gets last_used_at = now()'
);
select results_eq(
  $$select id, last_used_at from public.api_keys
    where id in ('5e100000-0000-4000-8000-000000000002', '5e100000-0000-4000-8000-000000000003') order by id$$,
  $$values ('5e100000-0000-4000-8000-000000000002'::uuid, null::timestamptz),
           ('5e100000-0000-4000-8000-000000000003'::uuid, '2020-03-03 03:03:03+00'::timestamptz)$$,
  'touching one key leaves the other keys alone'
);

-- Used 30 seconds ago: not written again ---------------------------------------------------------------
update public.api_keys set last_used_at = now() - interval '30 seconds' where id = '5e100000-0000-4000-8000-000000000001';
set local role service_role;
select lives_ok($$select public.touch_api_key('5e100000-0000-4000-8000-000000000001')$$, 'service_role touches a key used 30 seconds ago');
reset role;
select is(
  (select last_used_at from public.api_keys where id = '5e100000-0000-4000-8000-000000000001'),
  now() - interval '30 seconds',
  'a key used 30 seconds ago keeps its last_used_at (no second write within a minute)'
);

-- Used 59 seconds ago: still within the minute ---------------------------------------------------------
update public.api_keys set last_used_at = now() - interval '59 seconds' where id = '5e100000-0000-4000-8000-000000000001';
set local role service_role;
select lives_ok($$select public.touch_api_key('5e100000-0000-4000-8000-000000000001')$$, 'service_role touches a key used 59 seconds ago');
reset role;
select is(
  (select last_used_at from public.api_keys where id = '5e100000-0000-4000-8000-000000000001'),
  now() - interval '59 seconds',
  'a key used 59 seconds ago keeps its last_used_at'
);

-- Used 2 minutes ago: recorded again --------------------------------------------------------------------
update public.api_keys set last_used_at = now() - interval '2 minutes' where id = '5e100000-0000-4000-8000-000000000001';
set local role service_role;
select lives_ok($$select public.touch_api_key('5e100000-0000-4000-8000-000000000001')$$, 'service_role touches a key used 2 minutes ago');
reset role;
select is(
  (select last_used_at from public.api_keys where id = '5e100000-0000-4000-8000-000000000001'),
  now(),
  'a key used 2 minutes ago gets last_used_at = now()'
);

-- Used 61 seconds ago: recorded again --------------------------------------------------------------------
update public.api_keys set last_used_at = now() - interval '61 seconds' where id = '5e100000-0000-4000-8000-000000000001';
set local role service_role;
select lives_ok($$select public.touch_api_key('5e100000-0000-4000-8000-000000000001')$$, 'service_role touches a key used 61 seconds ago');
reset role;
select is(
  (select last_used_at from public.api_keys where id = '5e100000-0000-4000-8000-000000000001'),
  now(),
  'a key used 61 seconds ago gets last_used_at = now()'
);

-- Used long ago: recorded ------------------------------------------------------------------------------
set local role service_role;
select lives_ok($$select public.touch_api_key('5e100000-0000-4000-8000-000000000003')$$, 'service_role touches a key used years ago');
reset role;
select is(
  (select last_used_at from public.api_keys where id = '5e100000-0000-4000-8000-000000000003'),
  now(),
  'a key used years ago gets last_used_at = now()'
);

-- Unknown id: a no-op, not an error ---------------------------------------------------------------------
create temp table touch_before on commit drop as
  select id, last_used_at from public.api_keys;
set local role service_role;
select lives_ok($$select public.touch_api_key('5e1fffff-0000-4000-8000-00000000ffff')$$, 'touching an unknown key id does not raise');
select lives_ok($$select public.touch_api_key(null)$$, 'touching a null key id does not raise');
reset role;
select set_eq(
  $$select id, last_used_at from public.api_keys$$,
  $$select id, last_used_at from touch_before$$,
  'touching an unknown or null key id changed no key'
);

-- Touching writes last_used_at only -------------------------------------------------------------------
select results_eq(
  $$select key_hash, revoked_at, expires_at from public.api_keys where id = '5e100000-0000-4000-8000-000000000001'$$,
  $$values (repeat('a1', 32), null::timestamptz, null::timestamptz)$$,
  'touching a key leaves its other columns as they were'
);
select is(
  (select count(*) from public.api_keys where org_id = '0f5a0000-0000-4000-8000-000000000001'),
  3::bigint,
  'touching creates and deletes no key'
);

select * from finish();
rollback;
