-- PATCH /v1/webhooks/{id}: changes the fields p_changes names (url, events, description, active;
-- the gateway has checked them); the others stay. Turning an endpoint back on clears why it was
-- turned off; its deliveries still pending then go out. Another org's endpoint, or none:
-- outcome webhook_not_found. data = {"webhook": {...}} (no secret).
create function public.update_webhook(
  p_key_hash text,
  p_webhook_id uuid,
  p_changes jsonb,
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
  v_endpoint public.webhook_endpoints;
begin
  if v_auth->>'outcome' <> 'ok' then
    return v_auth;
  end if;
  v_org := (v_auth->>'org_id')::uuid;

  update public.webhook_endpoints e
  set url = case when p_changes ? 'url' then p_changes->>'url' else e.url end,
      events = case when p_changes ? 'events'
                 then array(select distinct t from jsonb_array_elements_text(p_changes->'events') t
                            order by t)
                 else e.events end,
      description = case when p_changes ? 'description' then p_changes->>'description'
                      else e.description end,
      active = case when p_changes ? 'active' then (p_changes->>'active')::boolean else e.active end,
      disabled_reason = case when (p_changes->>'active')::boolean then null else e.disabled_reason end,
      failing_since = case when (p_changes->>'active')::boolean then null else e.failing_since end,
      updated_at = now()
  where e.org_id = v_org and e.id = p_webhook_id and e.deleted_at is null
  returning * into v_endpoint;
  if not found then
    return v_auth || jsonb_build_object('outcome', 'webhook_not_found');
  end if;

  return v_auth || jsonb_build_object('data', jsonb_build_object(
    'webhook', internal.webhook_json(v_endpoint)
  ));
end;
$$;

revoke execute on function public.update_webhook(text, uuid, jsonb, timestamptz) from public, anon, authenticated;
grant execute on function public.update_webhook(text, uuid, jsonb, timestamptz) to service_role;
