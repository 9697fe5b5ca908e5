-- The dispatcher's claim: up to p_limit due deliveries of active endpoints, each leased to the
-- caller for p_lease_seconds (its attempt counted now). Another dispatcher skips what this one
-- holds (FOR UPDATE SKIP LOCKED: it never waits for it), then sees the lease, so two at once never
-- send one attempt twice; a dispatcher that dies mid-delivery loses its lease, and the delivery is
-- claimed again when it ends (at-least-once, the same webhook-id).
--
-- Fair: an endpoint gets at most 5 deliveries in flight, and the claim goes round robin by org,
-- then by endpoint: every org's oldest due delivery before any org's second, so one org's many
-- endpoints (dead, slow or busy) never take a claim from another org.
--
-- Bounded: a claimed delivery's next_attempt_at moves on now, by the wait that follows this
-- attempt, as if it failed (record_webhook_attempt sets the real one): a delivery whose attempt is
-- never recorded comes back on the retry schedule, not at the head of every claim. One whose last
-- claim was never recorded (its lease ran out) with its attempts spent is failed here instead.
--
-- Returns a JSON array of {delivery_id, attempt, event_id, url, secrets, body}: secrets are the
-- endpoint's current one and, for 24 hours after a rotation, the previous one. Called by the
-- dispatcher (the deployed function's dispatch route, or the dev server), never by a client: it
-- takes no key.
create or replace function public.claim_webhook_deliveries(
  p_limit integer default 50,
  p_lease_seconds integer default 60,
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
  -- The 8th attempt is the last (internal.webhook_retry_wait has no wait after it).
  v_max_attempts constant integer := 8;
  v_claimed jsonb;
begin
  -- Per active endpoint (an index probe each, however long the backlog): its oldest due
  -- deliveries, as many as its free slots of 5 in flight.
  with due as (
    select e.org_id, c.id, c.next_attempt_at, c.rank
    from public.webhook_endpoints e
    cross join lateral (
      select count(*)::integer as n
      from public.webhook_deliveries f
      where f.endpoint_id = e.id and f.status = 'pending' and f.locked_until > v_now
    ) in_flight
    cross join lateral (
      select d.id, d.next_attempt_at,
             row_number() over (order by d.next_attempt_at, d.id) as rank
      from public.webhook_deliveries d
      where d.endpoint_id = e.id and d.status = 'pending' and d.next_attempt_at <= v_now
        and (d.locked_until is null or d.locked_until <= v_now)
      order by d.next_attempt_at, d.id
      limit greatest(5 - in_flight.n, 0)
    ) c
    where e.active
  ), candidates as (
    select u.id, u.next_attempt_at,
           -- Within an org: each endpoint's first before any endpoint's second.
           row_number() over (partition by u.org_id order by u.rank, u.next_attempt_at, u.id)
             as org_rank
    from due u
  ), chosen as (
    select c.id from candidates c
    order by c.org_rank, c.next_attempt_at, c.id
    limit greatest(p_limit, 0)
  ), locked as (
    select d.id, d.attempts >= v_max_attempts and d.locked_until is not null as spent
    from public.webhook_deliveries d
    join chosen c on c.id = d.id
    -- Still due once locked: another dispatcher may have taken it in between.
    where d.status = 'pending' and (d.locked_until is null or d.locked_until <= v_now)
    order by d.id
    for update of d skip locked
  ), ended as (
    update public.webhook_deliveries d
    set status = 'failed', locked_until = null, updated_at = now()
    from locked l
    where d.id = l.id and l.spent
  ), leased as (
    update public.webhook_deliveries d
    set locked_until = v_now + make_interval(secs => greatest(p_lease_seconds, 1)),
        attempts = d.attempts + 1,
        next_attempt_at = v_now + coalesce(internal.webhook_retry_wait(d.attempts + 1),
                                           make_interval(secs => greatest(p_lease_seconds, 1))),
        last_attempt_at = v_now,
        updated_at = now()
    from locked l
    where d.id = l.id and not l.spent
    returning d.*
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'delivery_id', l.id,
           'attempt', l.attempts,
           'event_id', l.event_id,
           'url', e.url,
           'secrets', case when e.previous_secret is not null and e.previous_secret_expires_at > v_now
                        then jsonb_build_array(e.secret, e.previous_secret)
                        else jsonb_build_array(e.secret) end,
           'body', v.body
         ) order by l.last_attempt_at, l.id), '[]'::jsonb)
  into v_claimed
  from leased l
  join public.webhook_endpoints e on e.org_id = l.org_id and e.id = l.endpoint_id
  join public.webhook_events v on v.org_id = l.org_id and v.id = l.event_id;
  return v_claimed;
end;
$$;
