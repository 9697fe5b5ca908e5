-- Webhooks, bounded (issue 21): one URL per endpoint of an org, the retry schedule in one place,
-- a manual-retry allowance per delivery, and no delivery left pending for an endpoint that is off.

-- The wait after attempt p_attempt (1-based) on the Standard Webhooks example schedule (5 s, 5 min,
-- 30 min, 2 h, 5 h, 10 h, 10 h), unjittered; null after the 8th, the last. The dispatcher's claim
-- and record_webhook_attempt read it, so the two never disagree.
create function internal.webhook_retry_wait(p_attempt integer)
returns interval
language sql
immutable
security invoker
set search_path = ''
as $$
  select (array[
    interval '5 seconds', interval '5 minutes', interval '30 minutes', interval '2 hours',
    interval '5 hours', interval '10 hours', interval '10 hours'
  ])[p_attempt]
$$;
revoke all on function internal.webhook_retry_wait(integer) from public;
grant execute on function internal.webhook_retry_wait(integer) to service_role;

-- Manual retries (POST .../retry) of one delivery: at most 10 in a window of 24 hours that starts
-- at the first of them (retry_webhook_delivery).
alter table public.webhook_deliveries
  add column manual_retries integer not null default 0 check (manual_retries >= 0),
  add column manual_retries_since timestamptz;
grant update (manual_retries, manual_retries_since) on table public.webhook_deliveries
  to service_role;

-- An endpoint that is off has nothing pending: its deliveries were cancelled when it was turned
-- off (update_webhook, record_webhook_attempt), and turning it on does not revive them. Those of
-- endpoints already off are cancelled here, so that the pg_cron idle check and retention see them
-- as done.
update public.webhook_deliveries d
set status = 'cancelled', locked_until = null, updated_at = now()
from public.webhook_endpoints e
where e.org_id = d.org_id and e.id = d.endpoint_id and not e.active and d.status = 'pending';

-- One endpoint per URL in an org (409 webhook_url_taken): the same URL twice only sends each
-- event twice. Where a database already has duplicates, the oldest active one of each URL stays,
-- subscribed to every event type its duplicates were, and the others are deleted as
-- DELETE /v1/webhooks/{id} would (kept 30 days, their pending deliveries cancelled).
with ranked as (
  select e.id, e.org_id, e.url,
         first_value(e.id) over w as keep,
         row_number() over w as n
  from public.webhook_endpoints e
  where e.deleted_at is null
  window w as (partition by e.org_id, e.url order by e.active desc, e.created_at, e.id)
), merged as (
  update public.webhook_endpoints k
  set events = (
        select array(select distinct t from public.webhook_endpoints o, unnest(o.events) t
                     where o.org_id = k.org_id and o.url = k.url and o.deleted_at is null
                     order by t)),
      updated_at = now()
  where k.id in (select r.keep from ranked r where r.n > 1)
  returning k.id
), dropped as (
  update public.webhook_endpoints e
  set deleted_at = now(), active = false, updated_at = now()
  where e.id in (select r.id from ranked r where r.n > 1)
  returning e.org_id, e.id
)
update public.webhook_deliveries d
set status = 'cancelled', locked_until = null, updated_at = now()
from dropped x
where d.org_id = x.org_id and d.endpoint_id = x.id and d.status = 'pending';

create unique index webhook_endpoints_org_url_key on public.webhook_endpoints (org_id, url)
  where deleted_at is null;
