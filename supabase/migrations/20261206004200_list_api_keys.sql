-- GET /v1/api-keys?page&per_page&cursor&include_revoked&search: one page of the key's org's keys,
-- oldest first (created_at, id: the index api_keys_org_id_created_at_id_idx), metadata only
-- (internal.api_key_json: never a hash, never a key). Pages by keyset as well as by number, as
-- list_company_contacts does (its header, 20261206003000, describes the pattern). Revoked keys only
-- with p_include_revoked. data = {"keys": [...], "total" (null by cursor), "has_more"}.
create function internal.list_api_keys(
  p_org_id uuid,
  p_page integer,
  p_per_page integer,
  p_include_revoked boolean default false,
  p_search text default null,
  p_now timestamptz default null,
  -- Text, cast here: a client library may send a timestamptz parameter cut to milliseconds.
  p_after_created_at text default null,
  p_after_id uuid default null
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
set statement_timeout = '5s'
as $$
declare
  v_now constant timestamptz := coalesce(p_now, now());
  v_search constant text := lower(nullif(p_search, ''));
  v_limit constant integer := greatest(p_per_page, 0);
  v_at constant timestamptz := coalesce(p_after_created_at::timestamptz, '-infinity');
  v_total bigint;
  v_keys jsonb;
  v_has_more boolean;
begin
  -- p_search is taken literally (strpos, not LIKE: % and _ are characters like any other); a key in
  -- an old-style rotation grace (revoked_at in the future) is not revoked yet.
  if p_after_id is null then
    select count(*) into v_total
    from public.api_keys k
    where k.org_id = p_org_id
      and (coalesce(p_include_revoked, false) or k.revoked_at is null or k.revoked_at > v_now)
      and (v_search is null
           or strpos(lower(coalesce(k.name, '')), v_search) > 0
           or strpos(lower(coalesce(k.description, '')), v_search) > 0);
  end if;

  select coalesce(jsonb_agg(internal.api_key_json(p) order by p.created_at, p.id), '[]')
  into v_keys
  from (
    select k.*
    from public.api_keys k
    where k.org_id = p_org_id
      and (coalesce(p_include_revoked, false) or k.revoked_at is null or k.revoked_at > v_now)
      and (v_search is null
           or strpos(lower(coalesce(k.name, '')), v_search) > 0
           or strpos(lower(coalesce(k.description, '')), v_search) > 0)
      and (k.created_at, k.id) > (v_at, coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'))
    order by k.created_at, k.id
    limit v_limit + 1
    offset case when p_after_id is null
             then (greatest(p_page, 1)::bigint - 1) * v_limit else 0 end
  ) p;

  v_has_more := jsonb_array_length(v_keys) > v_limit;
  if v_has_more then
    v_keys := v_keys - v_limit;
  end if;
  return jsonb_build_object('keys', v_keys, 'total', v_total, 'has_more', v_has_more);
end;
$$;

create function public.list_api_keys(
  p_key_hash text,
  p_page integer,
  p_per_page integer,
  p_include_revoked boolean default false,
  p_search text default null,
  p_now timestamptz default null,
  p_after_created_at text default null,
  p_after_id uuid default null
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
  v_auth jsonb := public.api_authorize(p_key_hash, 'admin:api_keys', p_now);
begin
  if v_auth->>'outcome' <> 'ok' then
    return v_auth;
  end if;
  return v_auth || jsonb_build_object('data', internal.list_api_keys((v_auth->>'org_id')::uuid,
    p_page, p_per_page, p_include_revoked, p_search, p_now, p_after_created_at, p_after_id));
end;
$$;

revoke execute on function internal.list_api_keys(uuid, integer, integer, boolean, text, timestamptz, text, uuid) from public, anon, authenticated;
grant execute on function internal.list_api_keys(uuid, integer, integer, boolean, text, timestamptz, text, uuid) to service_role;
revoke execute on function public.list_api_keys(text, integer, integer, boolean, text, timestamptz, text, uuid) from public, anon, authenticated;
grant execute on function public.list_api_keys(text, integer, integer, boolean, text, timestamptz, text, uuid) to service_role;
