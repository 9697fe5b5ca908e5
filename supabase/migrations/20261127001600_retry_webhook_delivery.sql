-- POST /v1/webhooks/{id}/deliveries/{delivery_id}/retry: the delivery is due now. One still being
-- retried is brought forward; one that failed (its attempts spent) or succeeded gets one more
-- attempt, the schedule going on from the attempts it had (a replay: the same webhook-id and
-- body). Outcomes: webhook_not_found (another org's endpoint, or none), delivery_not_found (not
-- this endpoint's), webhook_inactive (turn the endpoint back on first).
-- data = {"delivery": {...}}.
create function public.retry_webhook_delivery(
  p_key_hash text,
  p_webhook_id uuid,
  p_delivery_id uuid,
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
  v_auth jsonb := public.api_authorize(p_key_hash, 'webhooks:write', p_now);
  v_org uuid;
  v_active boolean;
  v_delivery public.webhook_deliveries;
begin
  if v_auth->>'outcome' <> 'ok' then
    return v_auth;
  end if;
  v_org := (v_auth->>'org_id')::uuid;

  select e.active into v_active
  from public.webhook_endpoints e
  where e.org_id = v_org and e.id = p_webhook_id and e.deleted_at is null;
  if not found then
    return v_auth || jsonb_build_object('outcome', 'webhook_not_found');
  end if;

  update public.webhook_deliveries d
  set status = 'pending',
      next_attempt_at = coalesce(p_now, now()),
      updated_at = now()
  where d.org_id = v_org and d.endpoint_id = p_webhook_id and d.id = p_delivery_id and v_active
  returning * into v_delivery;
  if not found then
    if not exists (
      select 1 from public.webhook_deliveries d
      where d.org_id = v_org and d.endpoint_id = p_webhook_id and d.id = p_delivery_id
    ) then
      return v_auth || jsonb_build_object('outcome', 'delivery_not_found');
    end if;
    return v_auth || jsonb_build_object('outcome', 'webhook_inactive');
  end if;

  return v_auth || jsonb_build_object('data', jsonb_build_object(
    'delivery', internal.delivery_json(v_delivery)
  ));
end;
$$;

revoke execute on function public.retry_webhook_delivery(text, uuid, uuid, timestamptz) from public, anon, authenticated;
grant execute on function public.retry_webhook_delivery(text, uuid, uuid, timestamptz) to service_role;
