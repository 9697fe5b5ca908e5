-- The outbox write, called by an endpoint function in the transaction that made the change: one
-- event, and one delivery per active endpoint of the org subscribed to its type. When none is
-- subscribed, nothing is written and null is returned (an org without webhooks pays one index
-- probe). The body is the exact text every delivery sends and signs:
--   {"type": "...", "timestamp": "<ISO 8601, UTC>", "data": <p_data>}
-- p_data is json (not jsonb) so its keys keep the order the caller wrote them in.
create function internal.record_webhook_event(p_org_id uuid, p_type text, p_data json)
returns uuid
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_event uuid;
begin
  if not exists (
    select 1 from public.webhook_endpoints e
    where e.org_id = p_org_id and e.active and e.deleted_at is null and p_type = any (e.events)
  ) then
    return null;
  end if;

  -- One statement: the event and its deliveries.
  with event as (
    insert into public.webhook_events (org_id, type, body)
    values (
      p_org_id,
      p_type,
      json_build_object(
        'type', p_type,
        'timestamp', to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'data', p_data
      )::text
    )
    returning id
  ), delivered as (
    insert into public.webhook_deliveries (org_id, event_id, endpoint_id)
    select p_org_id, event.id, e.id
    from event, public.webhook_endpoints e
    where e.org_id = p_org_id and e.active and e.deleted_at is null and p_type = any (e.events)
  )
  select event.id into v_event from event;

  return v_event;
end;
$$;

revoke all on function internal.record_webhook_event(uuid, text, json) from public;
grant execute on function internal.record_webhook_event(uuid, text, json) to service_role;
