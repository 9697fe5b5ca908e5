-- GET /v1/api-keys?page&per_page&include_revoked&search: one page of the key's org's keys, oldest
-- first (created_at, id: the index api_keys_org_id_created_at_id_idx), metadata only
-- (internal.api_key_json: never a hash, never a key). Revoked keys only with p_include_revoked; a
-- key in an old-style rotation grace (revoked_at in the future) is not revoked yet. p_search: a
-- case-insensitive substring of the name or the description, taken literally (strpos, not LIKE:
-- % and _ are characters like any other). data = {"keys": [...], "total"}.
create function internal.list_api_keys(
  p_org_id uuid,
  p_page integer,
  p_per_page integer,
  p_include_revoked boolean default false,
  p_search text default null,
  p_now timestamptz default null
)
returns jsonb
language sql
stable
security invoker
set search_path = ''
set statement_timeout = '5s'
as $$
  with v as (
    select coalesce(p_now, now()) as now, lower(nullif(p_search, '')) as search
  ), matching as (
    select k.*
    from public.api_keys k, v
    where k.org_id = p_org_id
      and (coalesce(p_include_revoked, false) or k.revoked_at is null or k.revoked_at > v.now)
      and (v.search is null
           or strpos(lower(coalesce(k.name, '')), v.search) > 0
           or strpos(lower(coalesce(k.description, '')), v.search) > 0)
  ), page as (
    select m.* from matching m
    order by m.created_at, m.id
    limit greatest(p_per_page, 0)
    offset (greatest(p_page, 1)::bigint - 1) * greatest(p_per_page, 0)
  )
  select jsonb_build_object(
    'keys', coalesce((select jsonb_agg(internal.api_key_json(p::public.api_keys)
                                       order by p.created_at, p.id) from page p), '[]'::jsonb),
    'total', (select count(*) from matching)
  )
$$;

create function public.list_api_keys(
  p_key_hash text,
  p_page integer,
  p_per_page integer,
  p_include_revoked boolean default false,
  p_search text default null,
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
  v_auth jsonb := public.api_authorize(p_key_hash, 'admin:api_keys', p_now);
begin
  if v_auth->>'outcome' <> 'ok' then
    return v_auth;
  end if;
  return v_auth || jsonb_build_object('data', internal.list_api_keys((v_auth->>'org_id')::uuid,
    p_page, p_per_page, p_include_revoked, p_search, p_now));
end;
$$;

revoke execute on function internal.list_api_keys(uuid, integer, integer, boolean, text, timestamptz) from public, anon, authenticated;
grant execute on function internal.list_api_keys(uuid, integer, integer, boolean, text, timestamptz) to service_role;
revoke execute on function public.list_api_keys(text, integer, integer, boolean, text, timestamptz) from public, anon, authenticated;
grant execute on function public.list_api_keys(text, integer, integer, boolean, text, timestamptz) to service_role;
