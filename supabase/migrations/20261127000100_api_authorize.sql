-- Authorization and metering inside the database: every endpoint function calls api_authorize first,
-- in its own transaction, so the key check, the rate-limit tokens, last_used_at and the endpoint's
-- work commit or roll back together, in one round trip.
--
-- Result (jsonb), one shape for every outcome:
--   {"outcome": "invalid_key"}                                   unknown, revoked or expired key
--   {"outcome": "rate_limited" | "insufficient_permissions" | "ok",
--    "org_id": uuid, "key_prefix": text,
--    "rate_limit": {"window": "minute" | "day" (rate_limited only),
--                   "minute": {"limit", "remaining", "reset", "reset_in"},
--                   "day":    {"limit", "remaining", "reset", "reset_in"}}}
-- reset is the window's end in Unix seconds; reset_in the whole seconds until then (at least 1).
--
-- Order: key, then tokens, then permission. Every request with a valid key counts, whatever its
-- answer, except one refused by the limiter: that one takes no token in either window and writes
-- nothing. p_now replaces now() (tests move time without sleeping; the gateway passes it only when
-- given a clock).
create function public.api_authorize(
  p_key_hash text,
  p_permission text,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_now constant timestamptz := coalesce(p_now, now());
  v_minute constant timestamptz := date_trunc('minute', v_now, 'UTC');
  v_day constant date := (v_now at time zone 'UTC')::date;
  v_key record;
  v_day_used integer;
  v_minute_used integer;
  -- The minute the request counts in: its own, or a later one when a request that began before
  -- the minute turned waited behind one that began after.
  v_counted_minute timestamptz;
  v_window text;
  v_limits jsonb;
begin
  select k.id, k.org_id, k.prefix, k.permissions, k.last_used_at,
         coalesce(o.rate_limit_per_minute, p.requests_per_minute) as per_minute,
         coalesce(o.rate_limit_per_day, p.requests_per_day) as per_day
  into v_key
  from public.api_keys k
  join public.orgs o on o.id = k.org_id
  join public.plans p on p.name = o.plan
  where k.key_hash = p_key_hash
    -- A future revoked_at is a rotation's grace period: the key works until then.
    and (k.revoked_at is null or k.revoked_at > v_now)
    and (k.expires_at is null or k.expires_at > v_now);
  if not found then
    return jsonb_build_object('outcome', 'invalid_key');
  end if;

  -- Take one token from each window, or none. The row lock serialises an org's concurrent takes;
  -- the WHERE is re-checked on the latest row version after a wait, so the count never passes the
  -- limit however many requests arrive at once (no read-then-write).
  if v_key.per_day > 0 and v_key.per_minute > 0 then
    insert into public.api_usage as u (org_id, day, day_used, minute, minute_used)
    values (v_key.org_id, v_day, 1, v_minute, 1)
    on conflict (org_id, day) do update
      set day_used = u.day_used + 1,
          minute = greatest(u.minute, excluded.minute),
          minute_used = case when u.minute >= excluded.minute then u.minute_used + 1 else 1 end
      where u.day_used < v_key.per_day
        and (u.minute < excluded.minute or u.minute_used < v_key.per_minute)
    returning u.day_used, u.minute_used, u.minute
    into v_day_used, v_minute_used, v_counted_minute;
  end if;

  if v_day_used is null then
    -- Refused: report the state as it is, for the headers and Retry-After.
    select u.day_used, case when u.minute >= v_minute then u.minute_used else 0 end,
           greatest(u.minute, v_minute)
    into v_day_used, v_minute_used, v_counted_minute
    from public.api_usage u
    where u.org_id = v_key.org_id and u.day = v_day;
    v_day_used := coalesce(v_day_used, 0);
    v_minute_used := coalesce(v_minute_used, 0);
    v_counted_minute := coalesce(v_counted_minute, v_minute);
    -- The day outlasts the minute: when it is spent, it is what the client must wait for.
    v_window := case when v_day_used >= v_key.per_day then 'day' else 'minute' end;
  end if;

  v_limits := jsonb_build_object(
    'minute', jsonb_build_object(
      'limit', v_key.per_minute,
      'remaining', greatest(v_key.per_minute - v_minute_used, 0),
      'reset', extract(epoch from v_counted_minute + interval '1 minute')::bigint,
      'reset_in', greatest(ceil(extract(epoch from v_counted_minute + interval '1 minute' - v_now)), 1)::integer
    ),
    'day', jsonb_build_object(
      'limit', v_key.per_day,
      'remaining', greatest(v_key.per_day - v_day_used, 0),
      'reset', extract(epoch from (v_day + 1)::timestamp at time zone 'UTC')::bigint,
      'reset_in', greatest(ceil(extract(epoch from ((v_day + 1)::timestamp at time zone 'UTC') - v_now)), 1)::integer
    )
  );
  if v_window is not null then
    return jsonb_build_object(
      'outcome', 'rate_limited',
      'org_id', v_key.org_id,
      'key_prefix', v_key.prefix,
      'rate_limit', v_limits || jsonb_build_object('window', v_window)
    );
  end if;

  -- At most one write a minute per key: hot keys do not turn every request into an UPDATE, and the
  -- condition makes concurrent requests of one key collapse into one write.
  if v_key.last_used_at is null or v_key.last_used_at < v_now - interval '1 minute' then
    update public.api_keys k
    set last_used_at = v_now
    where k.id = v_key.id
      and (k.last_used_at is null or k.last_used_at < v_now - interval '1 minute');
  end if;

  return jsonb_build_object(
    'outcome', case when p_permission = any (v_key.permissions) then 'ok' else 'insufficient_permissions' end,
    'org_id', v_key.org_id,
    'key_prefix', v_key.prefix,
    'rate_limit', v_limits
  );
end;
$$;

revoke execute on function public.api_authorize(text, text, timestamptz) from public, anon, authenticated;
grant execute on function public.api_authorize(text, text, timestamptz) to service_role;
