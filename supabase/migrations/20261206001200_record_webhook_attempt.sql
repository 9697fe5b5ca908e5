-- The dispatcher's report of one attempt (p_attempt, as claimed): the attempt is kept, whatever
-- the receiver answered, and the delivery and its endpoint move on:
--   2xx          the delivery succeeded; the endpoint's failing streak ends.
--   410          the receiver is gone: the delivery failed and the endpoint is turned off
--                (active false, disabled_reason 'gone'); its other pending deliveries are
--                cancelled.
--   anything else (another status, one outside 100-599, a timeout, a refused connection or
--                address) the delivery is retried on the Standard Webhooks example schedule
--                (internal.webhook_retry_wait), each wait stretched or shrunk by up to 10% at
--                random so retries of many deliveries spread; a 429 or 503 with Retry-After waits
--                at least that long (at most a day). After the 8th attempt the delivery failed.
--                An endpoint whose attempts all failed for 5 days is turned off ('failing'), its
--                pending deliveries cancelled.
-- What cannot be stored as given is kept as it can be: a status outside 100-599 as none (error
-- class invalid_status), the answer's prefix cut to 256 characters, the error class to 40.
-- A report for an attempt that is no longer the delivery's (its lease ran out and another
-- dispatcher claimed it again, or it was cancelled) is kept but changes nothing else. Returns
-- {"status": <the delivery's>} or {"status": "gone"} when the delivery was deleted meanwhile.
create or replace function public.record_webhook_attempt(
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
  v_valid constant boolean := p_status_code between 100 and 599;
  v_status constant integer := case when v_valid then p_status_code end;
  v_error_class constant text := case
    when p_status_code is not null and not v_valid then 'invalid_status'
    else left(p_error_class, 40) end;
  v_ok constant boolean := coalesce(v_status between 200 and 299, false);
  v_org uuid;
  v_endpoint_id uuid;
  v_delivery public.webhook_deliveries;
  v_endpoint public.webhook_endpoints;
  v_was_active boolean;
  v_wait interval;
begin
  select d.org_id, d.endpoint_id into v_org, v_endpoint_id
  from public.webhook_deliveries d where d.id = p_delivery_id;
  if not found then
    return jsonb_build_object('status', 'gone');
  end if;
  -- Lock order: the endpoint, then the delivery, then its siblings (as update_webhook and
  -- delete_webhook).
  select e.active into v_was_active from public.webhook_endpoints e
  where e.org_id = v_org and e.id = v_endpoint_id for no key update;
  select * into v_delivery from public.webhook_deliveries d where d.id = p_delivery_id for update;
  if not found then
    return jsonb_build_object('status', 'gone');
  end if;

  insert into public.webhook_attempts
    (org_id, delivery_id, attempt, attempted_at, status_code, duration_ms, error_class,
     response_prefix)
  values (v_org, p_delivery_id, greatest(p_attempt, 1), v_now, v_status,
          greatest(coalesce(p_duration_ms, 0), 0), v_error_class, left(p_response_prefix, 256));

  if v_delivery.attempts <> p_attempt or v_delivery.status <> 'pending' then
    return jsonb_build_object('status', v_delivery.status);
  end if;

  update public.webhook_endpoints e
  set last_delivery_status = case when v_ok then 'success' else 'failed' end,
      last_delivery_at = v_now,
      failing_since = case when v_ok then null else coalesce(e.failing_since, v_now) end,
      active = e.active and v_status is distinct from 410
        and (v_ok or coalesce(e.failing_since, v_now) > v_now - interval '5 days'),
      disabled_reason = case
        when v_status = 410 then 'gone'
        when not v_ok and e.active and coalesce(e.failing_since, v_now) <= v_now - interval '5 days'
          then 'failing'
        else e.disabled_reason end
  where e.org_id = v_org and e.id = v_endpoint_id
  returning * into v_endpoint;

  if v_ok then
    update public.webhook_deliveries d
    set status = 'succeeded', locked_until = null, updated_at = now()
    where d.id = p_delivery_id
    returning * into v_delivery;
  elsif v_status = 410 or internal.webhook_retry_wait(p_attempt) is null then
    update public.webhook_deliveries d
    set status = 'failed', locked_until = null, updated_at = now()
    where d.id = p_delivery_id
    returning * into v_delivery;
  else
    v_wait := internal.webhook_retry_wait(p_attempt) * (0.9 + random() * 0.2);
    if v_status in (429, 503) and p_retry_after_seconds > 0 then
      v_wait := greatest(v_wait, make_interval(secs => least(p_retry_after_seconds, 86400)));
    end if;
    update public.webhook_deliveries d
    set next_attempt_at = v_now + v_wait, locked_until = null, updated_at = now()
    where d.id = p_delivery_id
    returning * into v_delivery;
  end if;

  -- Turned off by this report: what it still had pending will not go (turning it back on does
  -- not revive them).
  if v_was_active and not v_endpoint.active then
    update public.webhook_deliveries d
    set status = 'cancelled', locked_until = null, updated_at = now()
    where d.org_id = v_org and d.endpoint_id = v_endpoint_id and d.status = 'pending';
  end if;
  return jsonb_build_object('status', v_delivery.status);
end;
$$;
