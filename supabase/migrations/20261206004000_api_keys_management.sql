-- Keys managed over the API (POST/GET /v1/api-keys, DELETE /v1/api-keys/{id},
-- POST /v1/api-keys/{id}/rotate) and by `deno task keys`, through the same functions in schema
-- internal: one way to mint, revoke and rotate. What they need of the schema is here; each
-- operation is a migration of its own, named after its function.

-- What a key is for, in its owner's words (shown by the list, never required).
alter table public.api_keys add column description text
  check (description is null or char_length(description) <= 500);
-- How many live (unrevoked, unexpired) keys the org may hold; null means 100.
alter table public.orgs add column max_api_keys integer check (max_api_keys >= 0);

-- The list's order, (created_at, id) within an org: a page is an index range, and a keyset cursor
-- on the same order costs the same at any depth.
create index api_keys_org_id_created_at_id_idx on public.api_keys (org_id, created_at, id);
-- The org's own index on org_id alone is a prefix of that one.
drop index public.api_keys_org_id_idx;

-- The permissions a key may hold: supabase/functions/api-gateway/permissions.ts, which a test
-- holds this list to (tests/routes/create_api_key.ts). The table takes whatever its owner writes
-- (fixtures make odd keys on purpose); the key functions take only these.
create function internal.api_key_permissions()
returns text[]
language sql
immutable
security invoker
set search_path = ''
as $$
  select array['contacts:read', 'contacts:write', 'webhooks:read', 'webhooks:write',
               'admin:api_keys']::text[]
$$;

-- Whether a key works at p_now: api_authorize's rule (a future revoked_at is an old-style
-- rotation's grace period: the key works until then).
create function internal.api_key_live(p_key public.api_keys, p_now timestamptz)
returns boolean
language sql
stable
security invoker
set search_path = ''
as $$
  select (p_key.revoked_at is null or p_key.revoked_at > p_now)
     and (p_key.expires_at is null or p_key.expires_at > p_now)
$$;

-- A key as every answer shows it: metadata only, never its hash (the plaintext is never stored).
create function internal.api_key_json(p_key public.api_keys)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_key.id,
    'name', p_key.name,
    'description', p_key.description,
    'prefix', p_key.prefix,
    'permissions', to_jsonb(p_key.permissions),
    'created_at', internal.iso(p_key.created_at),
    'last_used_at', internal.iso(p_key.last_used_at),
    'expires_at', internal.iso(p_key.expires_at),
    'revoked_at', internal.iso(p_key.revoked_at)
  )
$$;

-- Every change to an org's keys (create, revoke, rotate) holds this lock until its transaction
-- ends: the live-key limit and the last admin key are counted with no other change under way.
-- Other orgs do not wait. The endpoint functions take it first, before api_authorize: authorize
-- writes the caller key's last_used_at, so a change that took it after could hold the key row
-- another change means to revoke while waiting for the lock that change holds (a deadlock).
-- Taken first, a holder waits only for rows of transactions that never wait for it (any other
-- request that touches a key row), and every wait is bounded by the functions' lock_timeout. The
-- CLI's calls take it first too (they lock nothing before). Taking it again in a transaction that
-- holds it returns at once.
create function internal.lock_org_api_keys(p_org_id uuid)
returns void
language sql
volatile
security invoker
set search_path = ''
as $$
  select pg_advisory_xact_lock(hashtextextended('api_keys:' || p_org_id::text, 0))
$$;

revoke all on function internal.api_key_permissions() from public;
revoke all on function internal.api_key_live(public.api_keys, timestamptz) from public;
revoke all on function internal.api_key_json(public.api_keys) from public;
revoke all on function internal.lock_org_api_keys(uuid) from public;
grant execute on function internal.api_key_permissions() to service_role;
grant execute on function internal.api_key_live(public.api_keys, timestamptz) to service_role;
grant execute on function internal.api_key_json(public.api_keys) to service_role;
grant execute on function internal.lock_org_api_keys(uuid) to service_role;

-- What the key functions write, and no more: a new key's columns (never last_used_at or
-- revoked_at), a revocation, and a rotation's shortened expiry.
grant insert (org_id, name, description, key_hash, prefix, permissions, expires_at, created_at)
  on table public.api_keys to service_role;
grant update (revoked_at, expires_at) on table public.api_keys to service_role;
grant select (max_api_keys) on table public.orgs to service_role;
