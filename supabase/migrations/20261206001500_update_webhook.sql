-- PATCH /v1/webhooks/{id}: changes the fields p_changes names (url, events, description, active;
-- the gateway has checked them, the URL as the WHATWG parser writes it); the others stay.
-- Turning an endpoint off cancels its pending deliveries (turning it back on does not revive
-- them: only events written while it is on are delivered); turning it on clears why it was
-- turned off. A URL another endpoint of the org has: outcome webhook_url_taken. Another org's
-- endpoint, or none: outcome webhook_not_found. data = {"webhook": {...}} (no secret).
create or replace function public.update_webhook(
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
  v_was_active boolean;
  v_endpoint public.webhook_endpoints;
begin
  if v_auth->>'outcome' <> 'ok' then
    return v_auth;
  end if;
  v_org := (v_auth->>'org_id')::uuid;

  if p_changes ? 'url' then
    -- As create_webhook: an org's URL changes go one after another. Taken before any row lock.
    perform pg_advisory_xact_lock(hashtextextended('webhook_endpoints:' || v_org::text, 0));
    if exists (select 1 from public.webhook_endpoints e
               where e.org_id = v_org and e.url = p_changes->>'url' and e.deleted_at is null
                 and e.id <> p_webhook_id) then
      if not exists (select 1 from public.webhook_endpoints e
                     where e.org_id = v_org and e.id = p_webhook_id and e.deleted_at is null) then
        return v_auth || jsonb_build_object('outcome', 'webhook_not_found');
      end if;
      return v_auth || jsonb_build_object('outcome', 'webhook_url_taken');
    end if;
  end if;

  -- Lock order: the endpoint, then its deliveries (as record_webhook_attempt, delete_webhook).
  select e.active into v_was_active
  from public.webhook_endpoints e
  where e.org_id = v_org and e.id = p_webhook_id and e.deleted_at is null
  for no key update;
  if not found then
    return v_auth || jsonb_build_object('outcome', 'webhook_not_found');
  end if;

  begin
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
    where e.org_id = v_org and e.id = p_webhook_id
    returning * into v_endpoint;
  exception
    when unique_violation then
      return v_auth || jsonb_build_object('outcome', 'webhook_url_taken');
  end;

  if v_was_active and not v_endpoint.active then
    update public.webhook_deliveries d
    set status = 'cancelled', locked_until = null, updated_at = now()
    where d.org_id = v_org and d.endpoint_id = p_webhook_id and d.status = 'pending';
  end if;

  return v_auth || jsonb_build_object('data', jsonb_build_object(
    'webhook', internal.webhook_json(v_endpoint)
  ));
end;
$$;
