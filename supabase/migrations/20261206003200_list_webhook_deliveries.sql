-- GET /v1/webhooks/{id}/deliveries: pages by keyset as well as by number, as
-- list_company_contacts does (its header describes the pattern). Newest first: created_at
-- descending, then id ascending, as before; the order is mixed, so the keyset predicate is
-- written out (created_at <= the position's, the index's condition, then the tie), read from
-- webhook_deliveries_endpoint_idx (org_id, endpoint_id, created_at desc, id).
-- data = {"deliveries": [...], "total" (null by cursor), "has_more"}.
drop function public.list_webhook_deliveries(text, uuid, integer, integer, timestamptz);

create function public.list_webhook_deliveries(
  p_key_hash text,
  p_webhook_id uuid,
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
  v_at timestamptz := coalesce(p_after_created_at::timestamptz, 'infinity');
  v_id uuid := coalesce(p_after_id, '00000000-0000-0000-0000-000000000000');
  v_total bigint;
  v_deliveries jsonb;
  v_has_more boolean;
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

  if p_after_id is null then
    select count(*) into v_total
    from public.webhook_deliveries d
    where d.org_id = v_org and d.endpoint_id = p_webhook_id;
  end if;

  select coalesce(jsonb_agg(internal.delivery_json(d)::jsonb order by d.created_at desc, d.id), '[]')
  into v_deliveries
  from (
    select d.id
    from public.webhook_deliveries d
    where d.org_id = v_org and d.endpoint_id = p_webhook_id
      and d.created_at <= v_at and (d.created_at < v_at or d.id > v_id)
    order by d.created_at desc, d.id
    limit v_limit + 1
    offset case when p_after_id is null
             then (greatest(p_page, 1)::bigint - 1) * v_limit else 0 end
  ) page
  join public.webhook_deliveries d on d.id = page.id;

  v_has_more := jsonb_array_length(v_deliveries) > v_limit;
  if v_has_more then
    v_deliveries := v_deliveries - v_limit;
  end if;

  return v_auth || jsonb_build_object('data', jsonb_build_object(
    'deliveries', v_deliveries, 'total', v_total, 'has_more', v_has_more));
end;
$$;

revoke execute on function public.list_webhook_deliveries(text, uuid, integer, integer, timestamptz, text, uuid) from public, anon, authenticated;
grant execute on function public.list_webhook_deliveries(text, uuid, integer, integer, timestamptz, text, uuid) to service_role;
