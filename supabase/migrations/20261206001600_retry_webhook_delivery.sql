-- POST /v1/webhooks/{id}/deliveries/{delivery_id}/retry: the delivery is due now. One still being
-- retried is brought forward; one that failed (its attempts spent), succeeded or was cancelled
-- gets one more attempt, the schedule going on from the attempts it had (a replay: the same
-- webhook-id and body). A delivery already due (pending, not in flight) is left as it is, and
-- that retry is not counted. At most 10 counted retries of one delivery in 24 hours (a window
-- that starts at the first of them): past that, outcome delivery_retry_limited with
-- retry_after, the seconds until the window ends. Outcomes: webhook_not_found (another org's endpoint, or none),
-- delivery_not_found (not this endpoint's), webhook_inactive (turn the endpoint back on first).
-- data = {"delivery": {...}}.
create or replace function public.retry_webhook_delivery(
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
  v_now timestamptz := coalesce(p_now, now());
  v_max constant integer := 10;
  v_window constant interval := interval '24 hours';
  v_org uuid;
  v_active boolean;
  v_delivery public.webhook_deliveries;
  v_fresh boolean;
begin
  if v_auth->>'outcome' <> 'ok' then
    return v_auth;
  end if;
  v_org := (v_auth->>'org_id')::uuid;

  -- Lock order: the endpoint, then the delivery (as record_webhook_attempt and update_webhook):
  -- an endpoint turned off meanwhile cannot have a delivery revived after its cancellation.
  select e.active into v_active
  from public.webhook_endpoints e
  where e.org_id = v_org and e.id = p_webhook_id and e.deleted_at is null
  for share;
  if not found then
    return v_auth || jsonb_build_object('outcome', 'webhook_not_found');
  end if;
  select * into v_delivery
  from public.webhook_deliveries d
  where d.org_id = v_org and d.endpoint_id = p_webhook_id and d.id = p_delivery_id
  for update;
  if not found then
    return v_auth || jsonb_build_object('outcome', 'delivery_not_found');
  end if;
  if not v_active then
    return v_auth || jsonb_build_object('outcome', 'webhook_inactive');
  end if;

  -- Already due and not in flight: the retry changes nothing, and is not counted (a repeated
  -- click, a client's retry of a lost answer).
  if v_delivery.status = 'pending' and v_delivery.next_attempt_at <= v_now
     and (v_delivery.locked_until is null or v_delivery.locked_until <= v_now) then
    return v_auth || jsonb_build_object('data', jsonb_build_object(
      'delivery', internal.delivery_json(v_delivery)
    ));
  end if;

  v_fresh := v_delivery.manual_retries_since is null
    or v_delivery.manual_retries_since <= v_now - v_window;
  if not v_fresh and v_delivery.manual_retries >= v_max then
    return v_auth || jsonb_build_object(
      'outcome', 'delivery_retry_limited',
      'retry_after', greatest(1, ceil(extract(epoch from
        v_delivery.manual_retries_since + v_window - v_now)))::integer
    );
  end if;

  update public.webhook_deliveries d
  set status = 'pending',
      next_attempt_at = v_now,
      manual_retries = case when v_fresh then 1 else d.manual_retries + 1 end,
      manual_retries_since = case when v_fresh then v_now else d.manual_retries_since end,
      updated_at = now()
  where d.id = p_delivery_id
  returning * into v_delivery;

  return v_auth || jsonb_build_object('data', jsonb_build_object(
    'delivery', internal.delivery_json(v_delivery)
  ));
end;
$$;
