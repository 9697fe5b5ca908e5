-- A delivery as every answer shows it (the deliveries list, a retry's answer): its latest 20
-- attempts, oldest first as before, and attempt_count, the number of attempts recorded; so an
-- answer's size is bounded whatever the delivery's history (issue 21). The latest 20 are read
-- from webhook_attempts_delivery_idx (delivery_id, attempt) backwards.
create or replace function internal.delivery_json(p_delivery public.webhook_deliveries)
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
    'attempt_count', (select count(*) from public.webhook_attempts a
                      where a.delivery_id = p_delivery.id and a.org_id = p_delivery.org_id),
    'attempts', coalesce((
      select json_agg(json_build_object(
               'attempt', l.attempt,
               'attempted_at', internal.iso(l.attempted_at),
               'status_code', l.status_code,
               'duration_ms', l.duration_ms,
               'error_class', l.error_class,
               'response_prefix', l.response_prefix
             ) order by l.attempt, l.attempted_at)
      from (
        select a.attempt, a.attempted_at, a.status_code, a.duration_ms, a.error_class,
               a.response_prefix
        from public.webhook_attempts a
        where a.delivery_id = p_delivery.id and a.org_id = p_delivery.org_id
        order by a.attempt desc, a.attempted_at desc
        limit 20
      ) l
    ), '[]'::json)
  )
$$;
