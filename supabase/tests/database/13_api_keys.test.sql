-- API keys managed in SQL (create_api_key, list_api_keys, revoke_api_key, rotate_api_key and the
-- internal functions they share with `deno task keys`): only the hash and prefix stored, no
-- escalation, the live-key limit, literal search, the last admin key kept, a rotation's grace on
-- p_now, dead keys not rotated. Called as service_role, the role PostgREST uses in production.
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(30);
grant usage on schema tap to service_role;

select ok(not has_function_privilege('anon', 'public.create_api_key(text, text, text, text[], text, timestamptz, timestamptz)', 'execute'),
  'anon cannot create keys');
select ok(not has_function_privilege('authenticated', 'internal.create_api_key(uuid, text, text, text[], text, timestamptz, timestamptz)', 'execute'),
  'authenticated cannot reach the org-level key functions');

-- Fixture: org A (at most 6 live keys) with key 'a1' (admin:api_keys, contacts:read) and 'a2'
-- (admin:api_keys); org B with 'b1' (admin:api_keys) and 'b2' (contacts:read).
insert into public.orgs (id, name, plan, max_api_keys) values
  ('0fa10000-0000-4000-8000-00000000000a', 'Keys A', 'pro', 6),
  ('0fa10000-0000-4000-8000-00000000000b', 'Keys B', 'pro', null);
insert into public.api_keys (id, org_id, name, key_hash, prefix, permissions) values
  ('0ca10000-0000-4000-8000-0000000000a1', '0fa10000-0000-4000-8000-00000000000a', 'a1', repeat('a1', 32), 'wbk_a1',
   '{admin:api_keys,contacts:read}'),
  ('0ca10000-0000-4000-8000-0000000000a2', '0fa10000-0000-4000-8000-00000000000a', 'a2', repeat('a2', 32), 'wbk_a2',
   '{admin:api_keys}'),
  ('0ca10000-0000-4000-8000-0000000000b1', '0fa10000-0000-4000-8000-00000000000b', 'b1', repeat('b1', 32), 'wbk_b1',
   '{admin:api_keys}'),
  ('0ca10000-0000-4000-8000-0000000000b2', '0fa10000-0000-4000-8000-00000000000b', 'b2', repeat('b2', 32), 'wbk_b2',
   '{contacts:read}');

create function tap.k(p_char text) returns text language sql as $$ select 'wbk_' || repeat(p_char, 52) $$;
create function tap.at(p_offset interval default '0') returns timestamptz language sql
as $$ select '2030-01-15 12:00:00+00'::timestamptz + p_offset $$;
grant execute on function tap.k(text), tap.at(interval) to service_role;
create temp table created (r jsonb) on commit drop;
create temp table rotated (r jsonb) on commit drop;
grant select, insert on created, rotated to service_role;

set local role service_role;

-- create ----------------------------------------------------------------------------------------
insert into created
select public.create_api_key(repeat('a1', 32), tap.k('C'), 'sync 100%', '{contacts:read}',
  'the nightly_import', tap.at('30 days'), tap.at());
select is((select r ->> 'outcome' from created), 'ok', 'create: a subset of the caller''s permissions');
select is((select r #>> '{data,key}' from created), tap.k('C'), 'create: the result shows the plaintext it was given');
select is((select r #>> '{data,created_at}' from created), '2030-01-15T12:00:00.000000Z', 'create: created at p_now');
reset role;
select is(
  (select key_hash from public.api_keys where id = (select (r #>> '{data,id}')::uuid from created)),
  encode(sha256(convert_to(tap.k('C'), 'UTF8')), 'hex'),
  'create: stored as the SHA-256 hex of the whole key'
);
select is(
  (select prefix from public.api_keys where id = (select (r #>> '{data,id}')::uuid from created)),
  left(tap.k('C'), 12),
  'create: and its first 12 characters'
);
select is_empty(
  $$select id from public.api_keys k where strpos(k::text, tap.k('C')) > 0$$,
  'create: no row holds the plaintext'
);
set local role service_role;
select is(
  public.create_api_key(repeat('a2', 32), tap.k('D'), 'wider', '{admin:api_keys,contacts:read,webhooks:read}',
    null, null, tap.at()) - 'rate_limit' - 'org_id' - 'key_prefix',
  '{"outcome": "insufficient_permissions", "data": {"missing": ["contacts:read", "webhooks:read"]}}'::jsonb,
  'create: no escalation; the missing permissions named in the order asked'
);
select is(
  public.create_api_key(repeat('a1', 32), tap.k('D'), 'late', '{contacts:read}', null, tap.at(), tap.at()) ->> 'outcome',
  'validation_error',
  'create: an expiry not after p_now is refused'
);
select is(
  public.create_api_key(repeat('b2', 32), tap.k('D'), 'x', '{contacts:read}', null, null, tap.at()) ->> 'outcome',
  'insufficient_permissions',
  'create: a key without admin:api_keys may not'
);
select throws_ok(
  $$select internal.create_api_key('0fa10000-0000-4000-8000-00000000000a', tap.k('D'), 'x', '{admin:*}')$$,
  '22023', null, 'internal.create_api_key: an unknown permission raises'
);
select throws_ok(
  $$select internal.create_api_key('0fa10000-0000-4000-8000-00000000000a', tap.k('D'), 'x', '{contacts:read,contacts:read}')$$,
  '22023', null, 'internal.create_api_key: a permission twice raises'
);
select throws_ok(
  $$select internal.create_api_key('0fa10000-0000-4000-8000-00000000000a', 'wbk_short', 'x', '{contacts:read}')$$,
  '22023', null, 'internal.create_api_key: not a key raises'
);

-- the limit: A holds a1, a2 and the created key; 3 more fit, the 7th live key does not ---------
select is(
  (select array_agg(public.create_api_key(repeat('a1', 32), tap.k(c), 'fill ' || c, '{contacts:read}', null, null, tap.at()) ->> 'outcome' order by c)
   from unnest(array['E', 'F', 'G', 'H']) c),
  array['ok', 'ok', 'ok', 'too_many_api_keys'],
  'create: at most orgs.max_api_keys live keys'
);

-- list ------------------------------------------------------------------------------------------
select is(
  public.list_api_keys(repeat('a1', 32), 1, 10, false, '%', tap.at()) #>> '{data,keys,0,name}',
  'sync 100%',
  'list: % is a character, not a wildcard'
);
select is(
  public.list_api_keys(repeat('a1', 32), 1, 10, false, '_IMPORT', tap.at()) #>> '{data,total}',
  '1',
  'list: _ is a character; the description is searched, in any case'
);
select is(
  public.list_api_keys(repeat('a1', 32), 1, 10, false, null, tap.at()) #>> '{data,total}',
  '6',
  'list: only the org''s own keys'
);
select ok(
  (public.list_api_keys(repeat('a1', 32), 1, 100, true, null, tap.at()) -> 'data')::text !~ '[0-9a-f]{64}|wbk_[0-9A-Za-z]{13}',
  'list: never a hash, never a key'
);

-- revoke ----------------------------------------------------------------------------------------
select is(
  public.revoke_api_key(repeat('a1', 32), '0ca10000-0000-4000-8000-0000000000b1', tap.at()) ->> 'outcome',
  'api_key_not_found',
  'revoke: another org''s key is not found'
);
select is(
  public.revoke_api_key(repeat('b1', 32), '0ca10000-0000-4000-8000-0000000000b1', tap.at()) #>> '{data,reason}',
  'last_admin_key',
  'revoke: the org''s last live admin key is kept'
);
select is(
  public.revoke_api_key(repeat('a1', 32), '0ca10000-0000-4000-8000-0000000000a2', tap.at()) ->> 'outcome',
  'ok',
  'revoke: an admin key goes while another remains'
);
select is(
  public.revoke_api_key(repeat('a1', 32), '0ca10000-0000-4000-8000-0000000000a2', tap.at('1 hour')) #>> '{data,revoked_at}',
  '2030-01-15T12:00:00.000000Z',
  'revoke: again is ok, and changes nothing'
);
select is(
  public.api_authorize(repeat('a2', 32), 'admin:api_keys', tap.at('1 second')) ->> 'outcome',
  'invalid_key',
  'revoke: the key is refused from the next call'
);
select is(
  internal.revoke_api_key('0fa10000-0000-4000-8000-00000000000b', '0ca10000-0000-4000-8000-0000000000b1', true, tap.at()) ->> 'outcome',
  'ok',
  'internal.revoke_api_key: the operator (p_allow_last_admin) may revoke the last admin key'
);

-- rotate ----------------------------------------------------------------------------------------
insert into rotated
select public.rotate_api_key(repeat('a1', 32), (select (r #>> '{data,id}')::uuid from created), tap.k('R'), 600,
  tap.at('1 minute'));
select is(
  (select jsonb_build_array(r ->> 'outcome', r #>> '{data,key,key}', r #>> '{data,key,name}',
     r #> '{data,key,permissions}', r #>> '{data,key,expires_at}', r #>> '{data,previous,expires_at}') from rotated),
  jsonb_build_array('ok', tap.k('R'), 'sync 100%', '["contacts:read"]'::jsonb, '2030-02-14T12:00:00.000000Z',
    '2030-01-15T12:11:00.000000Z'),
  'rotate: the successor keeps name, permissions, expiry; the old key ends with its grace'
);
select is(
  array[public.api_authorize(encode(sha256(convert_to(tap.k('C'), 'UTF8')), 'hex'), 'contacts:read', tap.at('10 minutes 59 seconds')) ->> 'outcome',
        public.api_authorize(encode(sha256(convert_to(tap.k('C'), 'UTF8')), 'hex'), 'contacts:read', tap.at('11 minutes')) ->> 'outcome'],
  array['ok', 'invalid_key'],
  'rotate: the old key works until its grace ends, on p_now'
);
select is(
  public.rotate_api_key(repeat('a1', 32), '0ca10000-0000-4000-8000-0000000000a2', tap.k('S'), 60, tap.at('2 minutes')) ->> 'outcome',
  'api_key_not_active',
  'rotate: a revoked key is not rotated'
);
reset role;
update public.api_keys set permissions = '{admin:api_keys,webhooks:write}' where id = '0ca10000-0000-4000-8000-0000000000a2';
update public.api_keys set revoked_at = null where id = '0ca10000-0000-4000-8000-0000000000a2';
set local role service_role;
select is(
  public.rotate_api_key(repeat('a1', 32), '0ca10000-0000-4000-8000-0000000000a2', tap.k('S'), 60, tap.at('2 minutes')) #> '{data,missing}',
  '["webhooks:write"]'::jsonb,
  'rotate: no escalation: only keys whose permissions the caller holds'
);
select is(
  public.rotate_api_key(repeat('a1', 32), '0ca10000-0000-4000-8000-0000000000b2', tap.k('S'), 60, tap.at('2 minutes')) ->> 'outcome',
  'api_key_not_found',
  'rotate: another org''s key is not found'
);
reset role;

select * from finish();
rollback;
