-- GET /v1/webhooks: pages by keyset as well as by number, as list_company_contacts does (its
-- header describes the pattern). Oldest first (created_at, id), read from
-- webhook_endpoints_org_id_idx. data = {"webhooks": [...], "total" (null by cursor), "has_more"}.
drop function public.list_webhooks(text, integer, integer, timestamptz);

create function public.list_webhooks(
  p_key_hash text,
  p_page integer,
  p_per_page integer,
  p_now timestamptz default null,
  -- Text, cast here: a client library may send a timestamptz parameter cut to milliseconds
  -- (postgres.js does), which would put the position before the row it names.
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
  v_auth jsonb := public.api_authorize(p_key_hash, 'webhooks:read', p_now);
  v_org uuid;
  v_limit integer := greatest(p_per_page, 0);
  v_at timestamptz := coalesce(p_after_created_at::timestamptz, '-infinity');
  v_total bigint;
  v_webhooks jsonb;
  v_has_more boolean;
begin
  if v_auth->>'outcome' <> 'ok' then
    return v_auth;
  end if;
  v_org := (v_auth->>'org_id')::uuid;

  if p_after_id is null then
    select count(*) into v_total
    from public.webhook_endpoints e where e.org_id = v_org and e.deleted_at is null;
  end if;

  select coalesce(jsonb_agg(internal.webhook_json(e)::jsonb order by e.created_at, e.id), '[]')
  into v_webhooks
  from (
    select e.id
    from public.webhook_endpoints e
    where e.org_id = v_org and e.deleted_at is null
      and (e.created_at, e.id) > (v_at, coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'))
    order by e.created_at, e.id
    limit v_limit + 1
    offset case when p_after_id is null
             then (greatest(p_page, 1)::bigint - 1) * v_limit else 0 end
  ) page
  join public.webhook_endpoints e on e.id = page.id;

  v_has_more := jsonb_array_length(v_webhooks) > v_limit;
  if v_has_more then
    v_webhooks := v_webhooks - v_limit;
  end if;

  return v_auth || jsonb_build_object('data', jsonb_build_object(
    'webhooks', v_webhooks, 'total', v_total, 'has_more', v_has_more));
end;
$$;

revoke execute on function public.list_webhooks(text, integer, integer, timestamptz, text, uuid) from public, anon, authenticated;
grant execute on function public.list_webhooks(text, integer, integer, timestamptz, text, uuid) to service_role;
