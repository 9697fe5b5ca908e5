-- The dispatcher's report of one attempt (p_attempt, as claimed): the attempt is kept, and the
-- delivery and its endpoint move on:
--   2xx          the delivery succeeded; the endpoint's failing streak ends.
--   410          the receiver is gone: the delivery failed and the endpoint is turned off
--                (active false, disabled_reason 'gone'); its other deliveries wait.
--   anything else (another status, a timeout, a refused connection or address) the delivery is
--                retried on the Standard Webhooks example schedule (after the attempts so far:
--                5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), each wait stretched or shrunk by up
--                to 10% at random so retries of many deliveries spread; a 429 or 503 with
--                Retry-After waits at least that long. After the 8th attempt the delivery failed.
--                An endpoint whose attempts all failed for 5 days is turned off ('failing').
-- A report for an attempt that is no longer the delivery's (its lease ran out and another
-- dispatcher claimed it again) is kept but changes nothing else. Returns {"status": <the
-- delivery's>} or {"status": "gone"} when the delivery was deleted meanwhile.
create function public.record_webhook_attempt(
  p_delivery_id uuid,
  p_attempt integer,
  p_status_code integer,
  p_duration_ms integer,
  p_error_class text default null,
  p_response_prefix text default null,
  p_retry_after_seconds integer default null,
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
  v_now constant timestamptz := coalesce(p_now, now());
  -- The wait after attempt n is v_waits[n]; there is none after the 8th.
  v_waits constant interval[] := array[
    interval '5 seconds', interval '5 minutes', interval '30 minutes', interval '2 hours',
    interval '5 hours', interval '10 hours', interval '10 hours'
  ];
  v_org uuid;
  v_endpoint_id uuid;
  v_delivery public.webhook_deliveries;
  v_ok constant boolean := p_status_code between 200 and 299;
  v_wait interval;
begin
  select d.org_id, d.endpoint_id into v_org, v_endpoint_id
  from public.webhook_deliveries d where d.id = p_delivery_id;
  if not found then
    return jsonb_build_object('status', 'gone');
  end if;
  -- Lock order: the endpoint, then the delivery (as delete_webhook).
  perform 1 from public.webhook_endpoints e
  where e.org_id = v_org and e.id = v_endpoint_id for no key update;
  select * into v_delivery from public.webhook_deliveries d where d.id = p_delivery_id for update;
  if not found then
    return jsonb_build_object('status', 'gone');
  end if;

  insert into public.webhook_attempts
    (org_id, delivery_id, attempt, attempted_at, status_code, duration_ms, error_class,
     response_prefix)
  values (v_org, p_delivery_id, p_attempt, v_now, p_status_code, greatest(p_duration_ms, 0),
          left(p_error_class, 40), left(p_response_prefix, 256));

  if v_delivery.attempts <> p_attempt or v_delivery.status <> 'pending' then
    return jsonb_build_object('status', v_delivery.status);
  end if;

  update public.webhook_endpoints e
  set last_delivery_status = case when v_ok then 'success' else 'failed' end,
      last_delivery_at = v_now,
      failing_since = case when v_ok then null else coalesce(e.failing_since, v_now) end,
      active = e.active and p_status_code is distinct from 410
        and (v_ok or coalesce(e.failing_since, v_now) > v_now - interval '5 days'),
      disabled_reason = case
        when p_status_code = 410 then 'gone'
        when not v_ok and e.active and coalesce(e.failing_since, v_now) <= v_now - interval '5 days'
          then 'failing'
        else e.disabled_reason end
  where e.org_id = v_org and e.id = v_endpoint_id;

  if v_ok then
    update public.webhook_deliveries d
    set status = 'succeeded', locked_until = null, updated_at = now()
    where d.id = p_delivery_id
    returning * into v_delivery;
  elsif p_status_code = 410 or p_attempt >= cardinality(v_waits) + 1 then
    update public.webhook_deliveries d
    set status = 'failed', locked_until = null, updated_at = now()
    where d.id = p_delivery_id
    returning * into v_delivery;
  else
    v_wait := v_waits[p_attempt] * (0.9 + random() * 0.2);
    if p_status_code in (429, 503) and p_retry_after_seconds > 0 then
      v_wait := greatest(v_wait, make_interval(secs => least(p_retry_after_seconds, 86400)));
    end if;
    update public.webhook_deliveries d
    set next_attempt_at = v_now + v_wait, locked_until = null, updated_at = now()
    where d.id = p_delivery_id
    returning * into v_delivery;
  end if;
  return jsonb_build_object('status', v_delivery.status);
end;
$$;

revoke execute on function public.record_webhook_attempt(uuid, integer, integer, integer, text, text, integer, timestamptz) from public, anon, authenticated;
grant execute on function public.record_webhook_attempt(uuid, integer, integer, integer, text, text, integer, timestamptz) to service_role;
