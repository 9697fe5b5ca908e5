-- A key revoked (a soft delete: revoked_at set, the row kept for the list's include_revoked):
-- api_authorize refuses it from the next request on, on every isolate (nothing caches a valid
-- key: each request's one call checks it). internal.revoke_api_key serves the endpoint below
-- (DELETE /v1/api-keys/{id}) and `deno task keys revoke`.
--
-- Outcomes: "ok" (revoked now, or already: a repeat changes nothing), "api_key_not_found" (no
-- such key in the org), "last_admin_key" (unless p_allow_last_admin: the key is live, holds
-- admin:api_keys, and no other live key of the org does; nothing changed). Under the org's key
-- lock, so two concurrent revocations of an org's last two admin keys cannot both pass.
-- data = the key as the list shows it.
create function internal.revoke_api_key(
  p_org_id uuid,
  p_key_id uuid,
  p_allow_last_admin boolean default false,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
set lock_timeout = '1s'
set statement_timeout = '5s'
as $$
declare
  v_now constant timestamptz := coalesce(p_now, now());
  v_key public.api_keys;
begin
  perform internal.lock_org_api_keys(p_org_id);
  select * into v_key from public.api_keys k where k.id = p_key_id and k.org_id = p_org_id;
  if not found then
    return jsonb_build_object('outcome', 'api_key_not_found');
  end if;
  if v_key.revoked_at is not null and v_key.revoked_at <= v_now then
    return jsonb_build_object('outcome', 'ok', 'data', internal.api_key_json(v_key));
  end if;
  if not coalesce(p_allow_last_admin, false)
     and internal.api_key_live(v_key, v_now)
     and 'admin:api_keys' = any (v_key.permissions)
     and not exists (
       select 1 from public.api_keys k
       where k.org_id = p_org_id and k.id <> v_key.id
         and 'admin:api_keys' = any (k.permissions) and internal.api_key_live(k, v_now)
     ) then
    return jsonb_build_object('outcome', 'last_admin_key', 'data', internal.api_key_json(v_key));
  end if;
  update public.api_keys k set revoked_at = v_now where k.id = v_key.id
  returning * into v_key;
  return jsonb_build_object('outcome', 'ok', 'data', internal.api_key_json(v_key));
end;
$$;

-- DELETE /v1/api-keys/{id}: 204 when revoked (now or before); api_key_not_found; the org's last
-- live admin key is kept: insufficient_permissions with data.reason = "last_admin_key".
create function public.revoke_api_key(
  p_key_hash text,
  p_key_id uuid,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
set lock_timeout = '1s'
set statement_timeout = '5s'
as $$
declare
  v_now timestamptz;
  v_auth jsonb;
  v_result jsonb;
begin
  -- The org's key lock first, before api_authorize locks anything (internal.lock_org_api_keys
  -- says why); none for a key that does not exist.
  perform internal.lock_org_api_keys(k.org_id) from public.api_keys k where k.key_hash = p_key_hash;
  -- Now is after the lock, not when the transaction began: a change that held the lock committed
  -- at its own transaction's time (a revocation's revoked_at), which must be past for this one, or
  -- two admin keys revoking each other at once would each still see the other live.
  v_now := coalesce(p_now, clock_timestamp());
  v_auth := public.api_authorize(p_key_hash, 'admin:api_keys', v_now);
  if v_auth->>'outcome' <> 'ok' then
    return v_auth;
  end if;
  v_result := internal.revoke_api_key((v_auth->>'org_id')::uuid, p_key_id, false, v_now);
  if v_result->>'outcome' = 'last_admin_key' then
    return v_auth || jsonb_build_object('outcome', 'insufficient_permissions',
      'data', jsonb_build_object('reason', 'last_admin_key'));
  end if;
  return v_auth || v_result;
end;
$$;

revoke execute on function internal.revoke_api_key(uuid, uuid, boolean, timestamptz) from public, anon, authenticated;
grant execute on function internal.revoke_api_key(uuid, uuid, boolean, timestamptz) to service_role;
revoke execute on function public.revoke_api_key(text, uuid, timestamptz) from public, anon, authenticated;
grant execute on function public.revoke_api_key(text, uuid, timestamptz) to service_role;
