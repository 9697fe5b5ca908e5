-- GET /v1/webhooks/{id}/deliveries?page&per_page: one page of the endpoint's deliveries, newest
-- first, each with its event type, status, next attempt and every attempt made (time, status
-- code, duration, error class, the first bytes of the answer). Another org's endpoint, or none:
-- outcome webhook_not_found. data = {"deliveries": [...], "total"}.
create function public.list_webhook_deliveries(
  p_key_hash text,
  p_webhook_id uuid,
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
  v_deliveries json;
begin
  if v_auth->>'outcome' <> 'ok' then
    return v_auth;
  end if;
  v_org := (v_auth->>'org_id')::uuid;

  if not exists (
    select 1 from public.webhook_endpoints e
    where e.org_id = v_org and e.id = p_webhook_id and e.deleted_at is null
  ) then
    return v_auth || jsonb_build_object('outcome', 'webhook_not_found');
  end if;

  select count(*) into v_total
  from public.webhook_deliveries d
  where d.org_id = v_org and d.endpoint_id = p_webhook_id;

  select coalesce(json_agg(internal.delivery_json(d) order by d.created_at desc, d.id), '[]'::json)
  into v_deliveries
  from (
    select d.id
    from public.webhook_deliveries d
    where d.org_id = v_org and d.endpoint_id = p_webhook_id
    order by d.created_at desc, d.id
    limit greatest(p_per_page, 0)
    offset (greatest(p_page, 1)::bigint - 1) * greatest(p_per_page, 0)
  ) page
  join public.webhook_deliveries d on d.id = page.id;

  return v_auth || jsonb_build_object('data', jsonb_build_object(
    'deliveries', v_deliveries::jsonb,
    'total', v_total
  ));
end;
$$;

revoke execute on function public.list_webhook_deliveries(text, uuid, integer, integer, timestamptz) from public, anon, authenticated;
grant execute on function public.list_webhook_deliveries(text, uuid, integer, integer, timestamptz) to service_role;
