-- How the webhook endpoints answer represent an endpoint and a delivery: one shape each, in one
-- place. Never the secrets.

-- ISO 8601 in UTC, microseconds, whatever the session's TimeZone (both adapters answer alike).
create function internal.iso(p_at timestamptz)
returns text
language sql
stable
security invoker
set search_path = ''
as $$ select to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

create function internal.webhook_json(p_endpoint public.webhook_endpoints)
returns json
language sql
stable
security invoker
set search_path = ''
as $$
  select json_build_object(
    'id', p_endpoint.id,
    'url', p_endpoint.url,
    'events', p_endpoint.events,
    'description', p_endpoint.description,
    'active', p_endpoint.active,
    'disabled_reason', p_endpoint.disabled_reason,
    'last_delivery_status', p_endpoint.last_delivery_status,
    'last_delivery_at', internal.iso(p_endpoint.last_delivery_at),
    'created_at', internal.iso(p_endpoint.created_at),
    'updated_at', internal.iso(p_endpoint.updated_at)
  )
$$;

-- A delivery with its event's type and every attempt, oldest first.
create function internal.delivery_json(p_delivery public.webhook_deliveries)
returns json
language sql
stable
security invoker
set search_path = ''
as $$
  select json_build_object(
    'id', p_delivery.id,
    'event_id', p_delivery.event_id,
    'event_type', (select v.type from public.webhook_events v
                   where v.org_id = p_delivery.org_id and v.id = p_delivery.event_id),
    'status', p_delivery.status,
    'next_attempt_at', case when p_delivery.status = 'pending'
                         then internal.iso(p_delivery.next_attempt_at) end,
    'created_at', internal.iso(p_delivery.created_at),
    'attempts', coalesce((
      select json_agg(json_build_object(
               'attempt', a.attempt,
               'attempted_at', internal.iso(a.attempted_at),
               'status_code', a.status_code,
               'duration_ms', a.duration_ms,
               'error_class', a.error_class,
               'response_prefix', a.response_prefix
             ) order by a.attempt, a.attempted_at)
      from public.webhook_attempts a
      where a.org_id = p_delivery.org_id and a.delivery_id = p_delivery.id
    ), '[]'::json)
  )
$$;

revoke all on function internal.iso(timestamptz) from public;
revoke all on function internal.webhook_json(public.webhook_endpoints) from public;
revoke all on function internal.delivery_json(public.webhook_deliveries) from public;
grant execute on function internal.iso(timestamptz) to service_role;
grant execute on function internal.webhook_json(public.webhook_endpoints) to service_role;
grant execute on function internal.delivery_json(public.webhook_deliveries) to service_role;
