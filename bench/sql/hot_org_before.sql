-- The link function as it was before the usage counters were split into slots (commit 30b07e5:
-- one usage row per org and day, its token taken first and held to the commit), loaded by the
-- bench under schema bench_before with a usage table of its own, so that the hot-org figures
-- before and after the change are measured in the same run. The rest (tables,
-- internal.move_org_contacts, whose list of changed contacts it drops) is the current schema's. Not
-- a migration: only the bench loads it.
create schema bench_before;
grant usage on schema bench_before to service_role;

create table bench_before.api_usage (
  org_id uuid not null references public.orgs (id) on delete cascade,
  day date not null,
  day_used integer not null check (day_used >= 0),
  minute timestamptz not null,
  minute_used integer not null check (minute_used >= 0),
  primary key (org_id, day)
);

create function bench_before.api_authorize(
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
    insert into bench_before.api_usage as u (org_id, day, day_used, minute, minute_used)
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
    from bench_before.api_usage u
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

create function bench_before.link_contacts_to_company(
  p_key_hash text,
  p_company_id uuid,
  p_contact_ids uuid[],
  p_now timestamptz default null
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_auth jsonb := bench_before.api_authorize(p_key_hash, 'contacts:write', p_now);
  v_org uuid;
begin
  if v_auth->>'outcome' <> 'ok' then
    return v_auth;
  end if;
  v_org := (v_auth->>'org_id')::uuid;

  -- Lock order, the same for every caller: the org's usage row (in api_authorize), the company (KEY
  -- SHARE, so links to one company run side by side while a delete of it waits), then the
  -- contacts by ascending id. Overlapping requests therefore queue instead of deadlocking.
  perform 1
  from public.companies c
  where c.org_id = v_org and c.id = p_company_id
  for key share;
  if not found then
    return v_auth || jsonb_build_object('outcome', 'company_not_found');
  end if;

  -- link: every one of the org's contacts among the ids ends up at the company.
  return v_auth || jsonb_build_object(
    'data', internal.move_org_contacts(v_org, p_contact_ids, p_to => p_company_id, p_from => null)
      - 'changed'
  );
end;
$$;

grant select, insert, update on table bench_before.api_usage to service_role;
grant execute on function bench_before.api_authorize(text, text, timestamptz) to service_role;
grant execute on function bench_before.link_contacts_to_company(text, uuid, uuid[], timestamptz)
  to service_role;
