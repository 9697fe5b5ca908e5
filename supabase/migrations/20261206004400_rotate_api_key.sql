-- A key rotated: a successor with its name, description, permissions and expiry (p_expires_at,
-- the CLI's --expires, replaces the expiry when given), and the old key cut short to
-- least(its expiry, now + p_grace_seconds): it works until then, so its holders can switch
-- without a failed request. internal.rotate_api_key serves the endpoint below
-- (POST /v1/api-keys/{id}/rotate) and `deno task keys rotate`; the successor's plaintext is the
-- caller's (kit/key.ts's generator), stored as its SHA-256 and prefix only, echoed in the result.
--
-- Outcomes: "ok"; "api_key_not_found"; "api_key_not_active" (revoked or expired: rotating must
-- not bring a dead key back); "too_many_api_keys" (the org's other live keys already number its
-- limit: the successor takes the old key's place, so a key can be rotated at the limit, once per
-- grace). data = {"key": {id, key, prefix, name, description, permissions, expires_at,
-- created_at}, "previous": the old key as the list shows it}.
create function internal.rotate_api_key(
  p_org_id uuid,
  p_key_id uuid,
  p_new_key text,
  p_grace_seconds integer default 86400,
  p_expires_at timestamptz default null,
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
  v_old public.api_keys;
  v_new jsonb;
begin
  if p_grace_seconds is null or p_grace_seconds not between 0 and 604800 then
    raise exception 'the grace period is 0 to 604800 seconds' using errcode = '22023';
  end if;
  perform internal.lock_org_api_keys(p_org_id);
  select * into v_old from public.api_keys k where k.id = p_key_id and k.org_id = p_org_id;
  if not found then
    return jsonb_build_object('outcome', 'api_key_not_found');
  end if;
  if not internal.api_key_live(v_old, v_now) then
    return jsonb_build_object('outcome', 'api_key_not_active');
  end if;
  if (select count(*) from public.api_keys k
      where k.org_id = p_org_id and k.id <> v_old.id and internal.api_key_live(k, v_now))
     >= (select coalesce(o.max_api_keys, 100) from public.orgs o where o.id = p_org_id) then
    return jsonb_build_object('outcome', 'too_many_api_keys');
  end if;

  if p_expires_at is not null and p_expires_at <= v_now then
    raise exception 'the expiry is not in the future' using errcode = '22023';
  end if;

  v_new := internal.insert_api_key(p_org_id, p_new_key, v_old.name, v_old.permissions,
    v_old.description, coalesce(p_expires_at, v_old.expires_at), v_now);
  update public.api_keys k
  set expires_at = least(coalesce(k.expires_at, 'infinity'), v_now + make_interval(secs => p_grace_seconds))
  where k.id = v_old.id
  returning * into v_old;

  return jsonb_build_object('outcome', 'ok', 'data', jsonb_build_object(
    'key', v_new,
    'previous', internal.api_key_json(v_old)
  ));
end;
$$;

-- POST /v1/api-keys/{id}/rotate. No escalation through rotation either: the caller's key must
-- hold every permission of the key it rotates (else insufficient_permissions, data.missing).
-- Another org's key, or none: api_key_not_found, before anything else is said of it.
create function public.rotate_api_key(
  p_key_hash text,
  p_key_id uuid,
  p_new_key text,
  p_grace_seconds integer default 86400,
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
  v_org uuid;
  v_missing text[];
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
  v_org := (v_auth->>'org_id')::uuid;
  -- A key's permissions never change: read without the org's lock.
  select array(
    select p from unnest(t.permissions) with ordinality as w (p, i)
    where not p = any (c.permissions)
    order by i
  ) into v_missing
  from public.api_keys t, public.api_keys c
  where t.id = p_key_id and t.org_id = v_org and c.key_hash = p_key_hash;
  if not found then
    return v_auth || jsonb_build_object('outcome', 'api_key_not_found');
  end if;
  if cardinality(v_missing) > 0 then
    return v_auth || jsonb_build_object('outcome', 'insufficient_permissions',
      'data', jsonb_build_object('missing', to_jsonb(v_missing)));
  end if;
  return v_auth || internal.rotate_api_key(v_org, p_key_id, p_new_key, p_grace_seconds, null, v_now);
end;
$$;

revoke execute on function internal.rotate_api_key(uuid, uuid, text, integer, timestamptz, timestamptz) from public, anon, authenticated;
grant execute on function internal.rotate_api_key(uuid, uuid, text, integer, timestamptz, timestamptz) to service_role;
revoke execute on function public.rotate_api_key(text, uuid, text, integer, timestamptz) from public, anon, authenticated;
grant execute on function public.rotate_api_key(text, uuid, text, integer, timestamptz) to service_role;
