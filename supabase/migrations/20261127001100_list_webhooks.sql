-- GET /v1/webhooks?page&per_page: one page of the key's org's endpoints, oldest first (created_at,
-- id), each with its last delivery's outcome; never a secret. data = {"webhooks": [...], "total"}.
create function public.list_webhooks(
  p_key_hash text,
  p_page integer,
  p_per_page integer,
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
  v_auth jsonb := public.api_authorize(p_key_hash, 'webhooks:read', p_now);
  v_org uuid;
  v_total bigint;
  v_webhooks json;
begin
  if v_auth->>'outcome' <> 'ok' then
    return v_auth;
  end if;
  v_org := (v_auth->>'org_id')::uuid;

  select count(*) into v_total
  from public.webhook_endpoints e where e.org_id = v_org and e.deleted_at is null;
  select coalesce(json_agg(internal.webhook_json(e) order by e.created_at, e.id), '[]'::json)
  into v_webhooks
  from (
    select e.id
    from public.webhook_endpoints e
    where e.org_id = v_org and e.deleted_at is null
    order by e.created_at, e.id
    limit greatest(p_per_page, 0)
    offset (greatest(p_page, 1)::bigint - 1) * greatest(p_per_page, 0)
  ) page
  join public.webhook_endpoints e on e.id = page.id;

  return v_auth || jsonb_build_object('data', jsonb_build_object(
    'webhooks', v_webhooks::jsonb,
    'total', v_total
  ));
end;
$$;

revoke execute on function public.list_webhooks(text, integer, integer, timestamptz) from public, anon, authenticated;
grant execute on function public.list_webhooks(text, integer, integer, timestamptz) to service_role;
