-- Authorization and metering inside the database: every endpoint function calls api_authorize first,
-- in its own transaction, so the key check, the rate-limit tokens, last_used_at and the endpoint's
-- work commit or roll back together, in one round trip.
--
-- Result (jsonb), one shape for every outcome:
--   {"outcome": "invalid_key"}                                   unknown, revoked or expired key
--   {"outcome": "rate_limited" | "busy" | "insufficient_permissions" | "ok",
--    "org_id": uuid, "key_prefix": text,
--    "rate_limit": {"window": "minute" | "day" (rate_limited only),
--                   "minute": {"limit", "remaining", "reset", "reset_in"},
--                   "day":    {"limit", "remaining", "reset", "reset_in"}}}
-- reset is the window's end in Unix seconds; reset_in the whole seconds until then (at least 1).
-- "busy": the org's own requests held its counters longer than this function waits (lock_timeout
-- below); nothing was taken or written, and the gateway answers 429 with Retry-After: 1.
--
-- Order: key, then tokens, then permission. Every request with a valid key counts, whatever its
-- answer, except one refused by the limiter: that one takes no token in either window and writes
-- nothing. p_now replaces now() (tests move time without sleeping; the gateway passes it only when
-- given a clock).
--
-- Why the counters are split into slots (issue 12, "a busy org runs side by side"). With one usage
-- row per org and day, the upsert that takes the token locks that row from the start of the call
-- to the end of its commit (the WAL flush included), so one org's requests ran one at a time
-- however many connections it had, and a refused request queued behind the accepted ones.
-- Measured with pgbench (8 clients, 100 orgs x 10,000 contacts, fsync, synchronous_commit and
-- full_page_writes on; hot penalty = (one org / spread over all orgs, for the link function) /
-- (the same for the least SQL, one UPDATE); 1 = one org is served as well as many; target 0.8):
--                                                            batch 10     batch 100
--   one row, token first (before)                            0.35-1.07    0.49-0.76
--   one row, token last (prototype: an unlocked early read
--     refuses a spent org, the work, the conditional upsert
--     last, an exception block undoing the work on refusal)  0.66-0.74    1.00
--   16 slots (prototype)                                     1.20-1.88    1.25
--   16 slots (this function, `deno task bench`)              0.99-1.20    0.99-1.21
-- (ranges over runs on two shared cores; `deno task bench` measures it with the old function
-- beside it, see docs/benchmarks.md). Taking the token last only shortens the locked part to the
-- upsert and the commit: one org's commits still follow each other, and a request refused at
-- the end has done and undone its work. With slots, an org's concurrent requests lock different
-- rows and commit side by side. 8 slots measured like 16, 32 no better; 16 leaves room for
-- PostgREST's pool. The price: about 60 us more database CPU per call with one client (0.39
-- against 0.33 ms at batch 10), ~100 us with eight, mostly reading the org's 16 slots for the
-- headers' totals and locking one before counting in it (an upsert locks and writes one row);
-- the link function's throughput spread over many orgs is ~20% lower for it.
--
-- How a token is taken, and why the limits stay exact:
--   1. One statement: lock a slot that has quota left in both windows, skipping slots other
--      transactions hold (FOR UPDATE SKIP LOCKED, the session's own slot first), and count the
--      request there. A slot never counts past its quota, and the quotas of a day (of a minute)
--      add up to at most its limit, so the org's count never passes the limit.
--   2. No such slot: the committed totals. A spent org is refused at once, waiting for nothing
--      (counts only grow within a window, so a refusal read from committed totals is right).
--      Else the day's 16 slots are created, each with its share of both limits (limit / 16, the
--      remainder to the first slots), or the transactions holding the slots now are waited for;
--      then step 1 once more.
--   3. Still no slot: under the lock of all the org's slots, the exact totals. Refused when a
--      window is spent; else the token is taken and what is left of each limit is split again
--      over the slots (a slot entering a new minute in step 1 takes its default share of the
--      minute; this re-splits whatever is stranded: quotas spent unevenly across the windows,
--      limits changed since the split). So a request is refused only when the org's totals are
--      spent: exactly the limit is admitted, as with one row.
-- Each try of step 1 runs in a subtransaction, undone when it finds no slot: a slot it locked and
-- then found spent (counted by a transaction that committed meanwhile) is released before any
-- wait. So every wait for slots starts holding none, and takes them in slot order: two requests
-- can never wait for each other's slots. The subtransaction costs a few microseconds and one more
-- transaction id per call.
--
-- Lock order for every write: the org's usage slots, then the key (last_used_at, skipped when
-- another transaction holds it), then the endpoint's rows. Slots are only waited for before the
-- endpoint's work, so a wait for them cannot close a cycle.
--
-- Waits are bounded here, where production runs them: a wait for the org's own slots gives up
-- after lock_timeout and answers "busy" (the org's own queue: 429); any other lock timeout, or
-- the statement timeout, is an error the gateway answers 503 (the transaction rolled back).
-- PostgREST (12.2 and later) hoists a function's statement_timeout into the transaction before
-- the call (a function cannot arm it for its own call: Postgres times the client's statement);
-- a direct SQL caller sets it itself (the local pool does).
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
set lock_timeout = '500ms'
set statement_timeout = '5s'
as $$
declare
  c_slots constant integer := 16;
  v_now constant timestamptz := coalesce(p_now, now());
  v_minute constant timestamptz := date_trunc('minute', v_now, 'UTC');
  v_day constant date := (v_now at time zone 'UTC')::date;
  -- The slot this session tries first: sessions spread over the slots, and each keeps to its own
  -- while it has quota there.
  v_home constant integer := pg_backend_pid() % c_slots;
  v_key record;
  v_attempt integer;
  v_took record;
  -- How many of the day's slots exist, as last counted.
  v_slots integer;
  v_day_used integer;
  v_minute_used integer;
  -- The minute the request counts in: its own, or a later one when a request that began before
  -- the minute turned comes after one that began after.
  v_counted_minute timestamptz;
  v_taken boolean := false;
  v_busy boolean := false;
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

  for v_attempt in 1 .. 2 loop
    if v_key.per_day > 0 and v_key.per_minute > 0 then
      -- 1. A slot with quota left in both windows that no other transaction holds, the session's
      -- own first; the totals add the other slots as this statement saw them. Undone when it
      -- finds none, so that no lock on a slot found spent is kept while waiting below.
      begin
        with seen as (
          select u.slot, u.day_used, u.minute, u.minute_used
          from public.api_usage u
          where u.org_id = v_key.org_id and u.day = v_day
        ), free as (
          select u.slot
          from public.api_usage u
          where u.org_id = v_key.org_id and u.day = v_day
            and u.day_limit = v_key.per_day and u.minute_limit = v_key.per_minute
            and u.day_used < u.day_quota
            and case when u.minute >= v_minute then u.minute_used < u.minute_quota
                     else v_key.per_minute / c_slots + (u.slot < v_key.per_minute % c_slots)::integer > 0
                end
          order by (u.slot - v_home + c_slots) % c_slots
          limit 1
          for update skip locked
        )
        update public.api_usage u
        set day_used = u.day_used + 1,
            minute = greatest(u.minute, v_minute),
            minute_used = case when u.minute >= v_minute then u.minute_used + 1 else 1 end,
            minute_quota = case when u.minute >= v_minute then u.minute_quota
                                else v_key.per_minute / c_slots + (u.slot < v_key.per_minute % c_slots)::integer
                           end
        from free f
        where u.org_id = v_key.org_id and u.day = v_day and u.slot = f.slot
        returning u.day_used + (select coalesce(sum(s.day_used), 0) from seen s where s.slot <> u.slot)
                    as day_used,
                  u.minute_used + (select coalesce(sum(s.minute_used), 0) from seen s
                                   where s.slot <> u.slot and s.minute = u.minute) as minute_used,
                  u.minute
        into v_took;
        v_taken := found;
        if not v_taken then
          raise exception using errcode = 'GW000';
        end if;
        v_day_used := v_took.day_used;
        v_minute_used := v_took.minute_used;
        v_counted_minute := v_took.minute;
      exception when sqlstate 'GW000' then
        null;
      end;
    end if;
    exit when v_taken or v_attempt = 2;

    -- 2. The committed totals: a spent org (or a limit of 0) is refused at once, waiting for
    -- nothing.
    select count(t.slot)::integer, coalesce(sum(t.day_used), 0)::integer,
           coalesce(sum(t.minute_used) filter (where t.minute = t.latest and t.minute >= v_minute), 0)::integer,
           greatest(max(t.minute), v_minute)
    into v_slots, v_day_used, v_minute_used, v_counted_minute
    from (select u.*, max(u.minute) over () as latest from public.api_usage u
          where u.org_id = v_key.org_id and u.day = v_day) t;
    exit when v_day_used >= v_key.per_day or v_minute_used >= v_key.per_minute;

    -- Then, before one more try: the day's slots are created (each with its share of both
    -- limits: limit / 16, the remainder to the first slots), or the transactions holding them
    -- now are waited for (an undone lock of them all).
    begin
      if v_slots < c_slots then
        insert into public.api_usage (org_id, day, slot, day_used, minute, minute_used,
                                      day_quota, minute_quota, day_limit, minute_limit)
        select v_key.org_id, v_day, s, 0, v_minute, 0,
               v_key.per_day / c_slots + (s < v_key.per_day % c_slots)::integer,
               v_key.per_minute / c_slots + (s < v_key.per_minute % c_slots)::integer,
               v_key.per_day, v_key.per_minute
        from generate_series(0, c_slots - 1) s
        on conflict do nothing;
      else
        begin
          perform 1 from public.api_usage u
          where u.org_id = v_key.org_id and u.day = v_day
          order by u.slot
          for update;
          raise exception using errcode = 'GW000';
        exception when sqlstate 'GW000' then
          null;
        end;
      end if;
    exception when lock_not_available then
      v_busy := true;
    end;
    exit when v_busy;
  end loop;

  if not v_taken and not v_busy and v_day_used < v_key.per_day and v_minute_used < v_key.per_minute then
    -- 3. Every slot of the org's day, locked in slot order, then the exact totals: refused when a
    -- window is spent; else the token goes to this session's slot and what is left of each limit
    -- is split again over all slots, on top of what each has counted (the remainder to the
    -- first slots).
    begin
      select count(t.slot)::integer, coalesce(sum(t.day_used), 0)::integer,
             coalesce(sum(t.minute_used) filter (where t.minute = t.latest and t.minute >= v_minute), 0)::integer,
             greatest(max(t.minute), v_minute)
      into v_slots, v_day_used, v_minute_used, v_counted_minute
      from (select l.*, max(l.minute) over () as latest
            from (select u.* from public.api_usage u where u.org_id = v_key.org_id and u.day = v_day
                  order by u.slot for update) l) t;
      if v_day_used < v_key.per_day and v_minute_used < v_key.per_minute then
        update public.api_usage u
        set day_used = u.day_used + (u.slot = v_home)::integer,
            minute = v_counted_minute,
            minute_used = case when u.minute = v_counted_minute then u.minute_used else 0 end
                          + (u.slot = v_home)::integer,
            day_limit = v_key.per_day,
            minute_limit = v_key.per_minute,
            day_quota = u.day_used + (u.slot = v_home)::integer
                        + (v_key.per_day - v_day_used - 1) / c_slots
                        + (u.slot < (v_key.per_day - v_day_used - 1) % c_slots)::integer,
            minute_quota = case when u.minute = v_counted_minute then u.minute_used else 0 end
                           + (u.slot = v_home)::integer
                           + (v_key.per_minute - v_minute_used - 1) / c_slots
                           + (u.slot < (v_key.per_minute - v_minute_used - 1) % c_slots)::integer
        where u.org_id = v_key.org_id and u.day = v_day;
        v_day_used := v_day_used + 1;
        v_minute_used := v_minute_used + 1;
        v_taken := true;
      end if;
    exception when lock_not_available then
      v_busy := true;
    end;
  end if;


  if not v_taken and not v_busy then
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
  if not v_taken then
    return jsonb_build_object(
      'outcome', case when v_busy then 'busy' else 'rate_limited' end,
      'org_id', v_key.org_id,
      'key_prefix', v_key.prefix,
      'rate_limit', v_limits || case when v_busy then '{}'::jsonb else jsonb_build_object('window', v_window) end
    );
  end if;

  -- At most one write a minute per key: hot keys do not turn every request into an UPDATE. The
  -- condition makes concurrent requests of one key collapse into one write, and none waits for
  -- another's: a key row another transaction holds is being written by it (or by an admin).
  if v_key.last_used_at is null or v_key.last_used_at < v_now - interval '1 minute' then
    update public.api_keys k
    set last_used_at = v_now
    where k.id = (
      select l.id from public.api_keys l
      where l.id = v_key.id
        and (l.last_used_at is null or l.last_used_at < v_now - interval '1 minute')
      for no key update skip locked
    );
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
