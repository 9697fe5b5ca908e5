-- api_authorize(p_key_hash, p_permission, p_now): the key check, the rate-limit tokens and
-- last_used_at that every endpoint function starts with. Every call runs as service_role, the role
-- PostgREST uses in production; the table owner only writes fixtures. Time is moved with p_now
-- (now() is frozen inside a transaction), mostly on 2030-01-15 UTC, whose windows end at:
--   12:01:00 1894708860   13:01:00 1894712460   13:11:00 1894713060   13:21:00 1894713660
--   13:51:00 1894715460   14:01:00 1894716060   2030-01-16 00:00 1894752000
--   2030-01-16 00:01:00 1894752060   00:02:00 1894752120   2030-01-17 00:00 1894838400
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(98);

grant usage on schema tap to service_role;

-- Helpers (run as the caller: service_role below) ----------------------------------------------------
-- The hash the gateway sends: lowercase hex SHA-256 of the whole key string.
create function tap.kh(p_key text) returns text
language sql immutable
as $$ select encode(sha256(convert_to(p_key, 'UTF8')), 'hex') $$;

create function tap.auth(p_key text, p_now timestamptz, p_permission text default 'contacts:write')
returns jsonb
language sql
as $$ select public.api_authorize(tap.kh(p_key), p_permission, p_now) $$;

-- p_n requests of one key at one instant; their outcomes in order.
create function tap.burst(p_key text, p_now timestamptz, p_n int) returns text[]
language plpgsql
as $$
declare
  v text[] := '{}';
begin
  for i in 1 .. p_n loop
    v := v || (tap.auth(p_key, p_now) ->> 'outcome');
  end loop;
  return v;
end;
$$;

-- p_per_minute requests in each of p_minutes consecutive minutes from p_from; outcomes counted.
create function tap.spread(p_key text, p_from timestamptz, p_minutes int, p_per_minute int) returns jsonb
language sql
as $$
  select jsonb_object_agg(o.outcome, o.n)
  from (
    select b.outcome, count(*) as n
    from generate_series(0, p_minutes - 1) m
    cross join lateral unnest(tap.burst(p_key, p_from + m * interval '1 minute', p_per_minute)) b (outcome)
    group by b.outcome
  ) o
$$;

-- The answer expected for a valid key: minute and day are {limit, remaining, reset (Unix s),
-- reset_in (s)}; p_window only when rate limited.
create function tap.expected(p_outcome text, p_key text, p_minute bigint[], p_day bigint[], p_window text default null)
returns jsonb
language sql
as $$
  select jsonb_build_object(
    'outcome', p_outcome,
    'org_id', (select k.org_id from public.api_keys k where k.key_hash = tap.kh(p_key)),
    'key_prefix', left(p_key, 12),
    'rate_limit', jsonb_build_object(
      'minute', jsonb_build_object('limit', p_minute[1], 'remaining', p_minute[2], 'reset', p_minute[3], 'reset_in', p_minute[4]),
      'day', jsonb_build_object('limit', p_day[1], 'remaining', p_day[2], 'reset', p_day[3], 'reset_in', p_day[4])
    ) || case when p_window is null then '{}' else jsonb_build_object('window', p_window) end
  )
$$;

-- The org's usage per day as the limiter counts it: the sum over its slots, and the latest minute's.
create function tap.usage(p_org uuid) returns table (day date, day_used int, minute timestamptz, minute_used int)
language sql
as $$
  select u.day, sum(u.day_used)::int, l.minute, (sum(u.minute_used) filter (where u.minute = l.minute))::int
  from public.api_usage u
  join (select x.day, max(x.minute) as minute from public.api_usage x where x.org_id = p_org group by x.day) l
    on l.day = u.day
  where u.org_id = p_org
  group by u.day, l.minute
  order by u.day
$$;

create function tap.last_used(p_key text) returns timestamptz
language sql
as $$ select k.last_used_at from public.api_keys k where k.key_hash = tap.kh(p_key) $$;

-- Fixture -------------------------------------------------------------------------------------------
-- Orgs 0f400000-0000-4000-8000-0000000000XX, XX:
--   a1 outcomes (org plan)  b1 only invalid keys  51 starter  52 pro  53 org
--   d1 starter, day override 3    e1 pro, minute override 2    e2 starter, minute override 25
--   f0 day override 0    f1 minute override 0    c1 two keys sharing a quota    c2 last_used_at
--   c3 a non-UTC session zone    c4 the default clock    c5 a late request    c6 403 and 429
insert into public.orgs (id, name, plan, rate_limit_per_day, rate_limit_per_minute) values
  ('0f400000-0000-4000-8000-0000000000a1', 'Outcomes', 'org', null, null),
  ('0f400000-0000-4000-8000-0000000000b1', 'Only invalid keys', 'starter', null, null),
  ('0f400000-0000-4000-8000-000000000051', 'Starter', 'starter', null, null),
  ('0f400000-0000-4000-8000-000000000052', 'Pro', 'pro', null, null),
  ('0f400000-0000-4000-8000-000000000053', 'Org', 'org', null, null),
  ('0f400000-0000-4000-8000-0000000000d1', 'Day override 3', 'starter', 3, null),
  ('0f400000-0000-4000-8000-0000000000e1', 'Minute override 2', 'pro', null, 2),
  ('0f400000-0000-4000-8000-0000000000e2', 'Minute override 25', 'starter', null, 25),
  ('0f400000-0000-4000-8000-0000000000f0', 'Day override 0', 'starter', 0, null),
  ('0f400000-0000-4000-8000-0000000000f1', 'Minute override 0', 'starter', null, 0),
  ('0f400000-0000-4000-8000-0000000000c1', 'Shared quota', 'starter', null, null),
  ('0f400000-0000-4000-8000-0000000000c2', 'Last used', 'org', null, null),
  ('0f400000-0000-4000-8000-0000000000c3', 'Monrovia', 'starter', null, null),
  ('0f400000-0000-4000-8000-0000000000c4', 'Clock', 'starter', null, null),
  ('0f400000-0000-4000-8000-0000000000c5', 'Late', 'pro', null, 2),
  ('0f400000-0000-4000-8000-0000000000c6', 'Forbidden', 'starter', null, null);

insert into public.api_keys (org_id, name, key_hash, prefix, permissions, expires_at, revoked_at)
select ('0f400000-0000-4000-8000-0000000000' || v.org)::uuid, v.k, tap.kh(v.k), left(v.k, 12), v.perms::text[],
       v.expires_at::timestamptz, v.revoked_at::timestamptz
from (values
  ('a1', 'wbk_a_rw', '{contacts:write,contacts:read}', null, null),
  ('a1', 'wbk_a_read', '{contacts:read}', null, null),
  ('a1', 'wbk_a_write', '{contacts:write}', null, null),
  ('a1', 'wbk_a_none', '{}', null, null),
  ('a1', 'wbk_a_revoked', '{contacts:write}', null, '2030-01-15 12:00:29+00'),
  ('a1', 'wbk_a_revoked_now', '{contacts:write}', null, '2030-01-15 12:00:30+00'),
  ('a1', 'wbk_a_expired', '{contacts:write}', '2030-01-15 12:00:29+00', null),
  ('a1', 'wbk_a_expires_now', '{contacts:write}', '2030-01-15 12:00:30+00', null),
  ('a1', 'wbk_a_grace', '{contacts:write}', null, '2030-01-15 13:00:30+00'),
  ('a1', 'wbk_a_later', '{contacts:write}', '2030-01-16 12:00:30+00', null),
  ('b1', 'wbk_b_revoked', '{contacts:write}', null, '2000-01-01 00:00:00+00'),
  ('b1', 'wbk_b_expired', '{contacts:write}', '2000-01-01 00:00:00+00', null),
  ('51', 'wbk_s', '{contacts:write}', null, null),
  ('52', 'wbk_p', '{contacts:write}', null, null),
  ('53', 'wbk_o', '{contacts:write}', null, null),
  ('d1', 'wbk_d', '{contacts:write}', null, null),
  ('e1', 'wbk_m', '{contacts:write}', null, null),
  ('e2', 'wbk_u', '{contacts:write}', null, null),
  ('f0', 'wbk_zd', '{contacts:write}', null, null),
  ('f1', 'wbk_zm', '{contacts:write}', null, null),
  ('c1', 'wbk_q1', '{contacts:write}', null, null),
  ('c1', 'wbk_q2', '{contacts:write}', null, null),
  ('c1', 'wbk_q_revoked', '{contacts:write}', null, '2000-01-01 00:00:00+00'),
  ('c2', 'wbk_l1', '{contacts:write}', null, null),
  ('c2', 'wbk_l2', '{contacts:write}', null, null),
  ('c3', 'wbk_h', '{contacts:write}', null, null),
  ('c4', 'wbk_n', '{contacts:write}', null, null),
  ('c5', 'wbk_late', '{contacts:write}', null, null),
  ('c6', 'wbk_f', '{contacts:write}', null, null),
  ('c6', 'wbk_f_read', '{contacts:read}', null, null)
) v (org, k, perms, expires_at, revoked_at);

-- Contract ------------------------------------------------------------------------------------------
select has_function('public', 'api_authorize', array['text', 'text', 'timestamp with time zone'], 'api_authorize(text, text, timestamptz) exists');
select is(
  pg_get_function_arguments('public.api_authorize(text,text,timestamptz)'::regprocedure),
  'p_key_hash text, p_permission text, p_now timestamp with time zone DEFAULT NULL::timestamp with time zone',
  'api_authorize takes p_key_hash, p_permission and p_now (default null: now())'
);
select function_returns('public', 'api_authorize', array['text', 'text', 'timestamp with time zone'], 'jsonb', 'api_authorize returns jsonb');
select volatility_is('public', 'api_authorize', array['text', 'text', 'timestamp with time zone'], 'volatile',
  'api_authorize is volatile (it writes; PostgREST runs stable functions read-only)');

set local role service_role;

-- Outcomes, at 2030-01-15 12:00:30 UTC, org plan (200 a minute, 10,000 a day) -------------------------
select is(tap.auth('wbk_unknown', '2030-01-15 12:00:30+00'), '{"outcome": "invalid_key"}'::jsonb, 'an unknown key: exactly {"outcome": "invalid_key"}');
select is(public.api_authorize(null, 'contacts:write', '2030-01-15 12:00:30+00'), '{"outcome": "invalid_key"}'::jsonb, 'a null hash: invalid_key');
select is(public.api_authorize('', 'contacts:write', '2030-01-15 12:00:30+00'), '{"outcome": "invalid_key"}'::jsonb, 'an empty hash: invalid_key');
select is(tap.auth('wbk_a_revoked', '2030-01-15 12:00:30+00'), '{"outcome": "invalid_key"}'::jsonb, 'a key revoked a second ago: invalid_key');
select is(tap.auth('wbk_a_revoked_now', '2030-01-15 12:00:30+00'), '{"outcome": "invalid_key"}'::jsonb, 'a key revoked at this very instant: invalid_key (revoked_at <= now)');
select is(tap.auth('wbk_a_expired', '2030-01-15 12:00:30+00'), '{"outcome": "invalid_key"}'::jsonb, 'a key expired a second ago: invalid_key');
select is(tap.auth('wbk_a_expires_now', '2030-01-15 12:00:30+00'), '{"outcome": "invalid_key"}'::jsonb, 'a key expiring at this very instant: invalid_key (expires_at <= now)');
select is(tap.auth('wbk_a_revoked', '2030-01-15 12:00:30+00', 'contacts:read'), '{"outcome": "invalid_key"}'::jsonb,
  'an invalid key is invalid_key whatever the permission asked');

select is(
  tap.auth('wbk_a_grace', '2030-01-15 12:00:30+00'),
  '{"outcome": "ok", "org_id": "0f400000-0000-4000-8000-0000000000a1", "key_prefix": "wbk_a_grace",
    "rate_limit": {"minute": {"limit": 200, "remaining": 199, "reset": 1894708860, "reset_in": 30},
                   "day": {"limit": 10000, "remaining": 9999, "reset": 1894752000, "reset_in": 43170}}}'::jsonb,
  'a key revoked in an hour (a rotation''s grace period) works: ok, its org, prefix and both windows exactly'
);
select is(
  tap.auth('wbk_a_later', '2030-01-15 12:00:30+00'),
  tap.expected('ok', 'wbk_a_later', '{200, 198, 1894708860, 30}', '{10000, 9998, 1894752000, 43170}'),
  'a key expiring tomorrow works'
);
select is(
  tap.auth('wbk_a_rw', '2030-01-15 12:00:30+00'),
  tap.expected('ok', 'wbk_a_rw', '{200, 197, 1894708860, 30}', '{10000, 9997, 1894752000, 43170}'),
  'a key with the permission: ok (the org''s third counted request)'
);
select is(
  tap.auth('wbk_a_read', '2030-01-15 12:00:30+00'),
  '{"outcome": "insufficient_permissions", "org_id": "0f400000-0000-4000-8000-0000000000a1", "key_prefix": "wbk_a_read",
    "rate_limit": {"minute": {"limit": 200, "remaining": 196, "reset": 1894708860, "reset_in": 30},
                   "day": {"limit": 10000, "remaining": 9996, "reset": 1894752000, "reset_in": 43170}}}'::jsonb,
  'a key without the permission: insufficient_permissions with its org, prefix and the limits (the token is taken)'
);
select is(tap.auth('wbk_a_write', '2030-01-15 12:00:30+00', 'contacts:read') ->> 'outcome', 'insufficient_permissions',
  'scopes are exact: contacts:write does not grant contacts:read');
select is(tap.auth('wbk_a_none', '2030-01-15 12:00:30+00') ->> 'outcome', 'insufficient_permissions',
  'a key with no permissions: insufficient_permissions');
select is(tap.auth('wbk_a_rw', '2030-01-15 12:00:30+00', null) ->> 'outcome', 'insufficient_permissions',
  'a null permission is never granted');
select is(tap.auth('wbk_a_rw', '2030-01-15 12:00:30+00', 'CONTACTS:WRITE') ->> 'outcome', 'insufficient_permissions',
  'permissions are case-sensitive');
select is(tap.auth('wbk_a_grace', '2030-01-15 13:00:30+00'), '{"outcome": "invalid_key"}'::jsonb,
  'the grace key stops working when its revoked_at arrives');
select is(tap.auth('wbk_a_later', '2030-01-16 12:00:30+00'), '{"outcome": "invalid_key"}'::jsonb,
  'the key expiring tomorrow stops working when its expires_at arrives');

-- Invalid keys count against no org; the valid ones of one org share its counters ---------------------
select results_eq(
  $$select * from tap.usage('0f400000-0000-4000-8000-0000000000a1')$$,
  $$values ('2030-01-15'::date, 8, '2030-01-15 12:00:00+00'::timestamptz, 8)$$,
  'org a1 counted exactly its 8 requests by valid keys (3 ok, 5 forbidden), none of its invalid keys'' requests'
);
select is(tap.burst('wbk_b_revoked', '2030-01-15 12:00:30+00', 3) || tap.burst('wbk_b_expired', '2030-01-15 12:00:30+00', 3),
  array_fill('invalid_key'::text, array[6]), 'org b1''s revoked and expired keys: invalid_key, six times');
select is_empty($$select * from tap.usage('0f400000-0000-4000-8000-0000000000b1')$$,
  'requests by invalid keys create no usage row for their org');
select results_eq(
  $$select k.prefix, k.last_used_at from public.api_keys k
    where k.org_id in ('0f400000-0000-4000-8000-0000000000a1', '0f400000-0000-4000-8000-0000000000b1') order by k.prefix collate "C"$$,
  $$values ('wbk_a_expire', null::timestamptz),
           ('wbk_a_expire', null),
           ('wbk_a_grace', '2030-01-15 12:00:30+00'),
           ('wbk_a_later', '2030-01-15 12:00:30+00'),
           ('wbk_a_none', '2030-01-15 12:00:30+00'),
           ('wbk_a_read', '2030-01-15 12:00:30+00'),
           ('wbk_a_revoke', null),
           ('wbk_a_revoke', null),
           ('wbk_a_rw', '2030-01-15 12:00:30+00'),
           ('wbk_a_write', '2030-01-15 12:00:30+00'),
           ('wbk_b_expire', null),
           ('wbk_b_revoke', null)$$,
  'last_used_at is set (to p_now) on the keys whose requests counted, forbidden ones included, and on no invalid key'
);

-- Each plan's limits, spent at full speed from 13:00:00 (that minute ends in 60 s, the day in 39,600 s)
select results_eq(
  $$select v.plan, b.outcomes, r.answer
    from (values (1, 'starter', 'wbk_s', 10), (2, 'pro', 'wbk_p', 50), (3, 'org', 'wbk_o', 200)) v (ord, plan, k, n)
    cross join lateral (select tap.burst(v.k, '2030-01-15 13:00:00+00', v.n) as outcomes) b
    cross join lateral (select tap.auth(v.k, '2030-01-15 13:00:00+00') as answer) r
    order by v.ord$$,
  $$values
    ('starter', array_fill('ok'::text, array[10]),
     tap.expected('rate_limited', 'wbk_s', '{10, 0, 1894712460, 60}', '{100, 90, 1894752000, 39600}', 'minute')),
    ('pro', array_fill('ok'::text, array[50]),
     tap.expected('rate_limited', 'wbk_p', '{50, 0, 1894712460, 60}', '{1000, 950, 1894752000, 39600}', 'minute')),
    ('org', array_fill('ok'::text, array[200]),
     tap.expected('rate_limited', 'wbk_o', '{200, 0, 1894712460, 60}', '{10000, 9800, 1894752000, 39600}', 'minute'))$$,
  'each plan''s minute limit: starter 10, pro 50, org 200 requests are ok; the next one is rate_limited by the minute window'
);
-- The rest of each day's quota, minute after minute from 13:01; then one more request.
select results_eq(
  $$select v.plan, b.outcomes, r.answer
    from (values (1, 'starter', 'wbk_s', 10, 9), (2, 'pro', 'wbk_p', 50, 19)) v (ord, plan, k, n, minutes)
    cross join lateral (select tap.spread(v.k, '2030-01-15 13:01:00+00', v.minutes, v.n) as outcomes) b
    cross join lateral (select tap.auth(v.k, '2030-01-15 13:01:00+00'::timestamptz + v.minutes * interval '1 minute') as answer) r
    order by v.ord$$,
  $$values
    ('starter', '{"ok": 90}'::jsonb,
     tap.expected('rate_limited', 'wbk_s', '{10, 10, 1894713060, 60}', '{100, 0, 1894752000, 39000}', 'day')),
    ('pro', '{"ok": 950}',
     tap.expected('rate_limited', 'wbk_p', '{50, 50, 1894713660, 60}', '{1000, 0, 1894752000, 38400}', 'day'))$$,
  'each plan''s day limit: the rest of the day (90, 950) is ok; the next request (at 13:10, 13:20) is rate_limited by the day window, its minute untouched'
);
-- The org plan's day the same way, but its next 9,799 requests are written into its slots: each
-- call here is a subtransaction of this one test transaction, and ten thousand of them make the
-- file take minutes (one call per transaction, as in production, costs the same whatever came
-- before). Limits of 0 on the rows send the next request through the lock of all slots.
reset role;
update public.api_usage
set day_used = case slot when 0 then 9999 else 0 end, day_quota = case slot when 0 then 9999 else 0 end,
    minute = '2030-01-15 13:49:00+00', minute_used = case slot when 0 then 199 else 0 end,
    minute_quota = case slot when 0 then 199 else 0 end, day_limit = 0, minute_limit = 0
where org_id = '0f400000-0000-4000-8000-000000000053';
set local role service_role;
select results_eq(
  $$select tap.auth('wbk_o', '2030-01-15 13:49:00+00') ->> 'outcome'
    union all select tap.auth('wbk_o', '2030-01-15 13:49:00+00') -> 'rate_limit' ->> 'window'
    union all select tap.auth('wbk_o', '2030-01-15 13:50:00+00')::text$$,
  $$values ('ok'), ('day'),
           (tap.expected('rate_limited', 'wbk_o', '{200, 200, 1894715460, 60}', '{10000, 0, 1894752000, 36600}', 'day')::text)$$,
  'the org plan''s day limit: with 9,999 used, the 10,000th request is ok; the next is rate_limited by the day window, at 13:50 too, its minute untouched'
);
select is(
  tap.auth('wbk_s', '2030-01-15 13:09:30+00'),
  tap.expected('rate_limited', 'wbk_s', '{10, 0, 1894713000, 30}', '{100, 0, 1894752000, 39030}', 'day'),
  'starter at 13:09:30, both windows spent: the day is the window reported (it is what the client must wait for)'
);
select results_eq(
  $$select * from tap.usage('0f400000-0000-4000-8000-000000000051')$$,
  $$values ('2030-01-15'::date, 100, '2030-01-15 13:09:00+00'::timestamptz, 10)$$,
  'starter''s usage row: 100 used, last counted minute 13:09 with 10 (the refusals wrote nothing)'
);

-- The day window ends at 00:00 UTC -------------------------------------------------------------------
select is(
  tap.auth('wbk_s', '2030-01-15 23:59:59.5+00'),
  tap.expected('rate_limited', 'wbk_s', '{10, 10, 1894752000, 1}', '{100, 0, 1894752000, 1}', 'day'),
  'half a second before midnight UTC the spent day still refuses, both windows resetting in 1 s (rounded up)'
);
select is(
  tap.auth('wbk_s', '2030-01-16 00:00:00+00'),
  tap.expected('ok', 'wbk_s', '{10, 9, 1894752060, 60}', '{100, 99, 1894838400, 86400}'),
  'at 00:00:00 UTC a new day starts: ok, 99 left today, the next reset a whole day away'
);
select results_eq(
  $$select * from tap.usage('0f400000-0000-4000-8000-000000000051')$$,
  $$values ('2030-01-15'::date, 100, '2030-01-15 13:09:00+00'::timestamptz, 10),
           ('2030-01-16'::date, 1, '2030-01-16 00:00:00+00'::timestamptz, 1)$$,
  'the new day has a row of its own; the spent day''s row is left as it was'
);

-- The minute window ends at the next whole UTC minute --------------------------------------------------
select is(tap.burst('wbk_s', '2030-01-16 00:00:00+00', 9), array_fill('ok'::text, array[9]), 'nine more in the first minute of the day: ok');
select is(
  tap.auth('wbk_s', '2030-01-16 00:00:59.999999+00'),
  tap.expected('rate_limited', 'wbk_s', '{10, 0, 1894752060, 1}', '{100, 90, 1894838400, 86341}', 'minute'),
  'a microsecond before the minute ends the spent minute refuses (reset_in rounded up to 1)'
);
select is(
  tap.auth('wbk_s', '2030-01-16 00:01:00+00'),
  tap.expected('ok', 'wbk_s', '{10, 9, 1894752120, 60}', '{100, 89, 1894838400, 86340}'),
  'at the next minute the minute window starts over; the day goes on counting'
);
select results_eq(
  $$select * from tap.usage('0f400000-0000-4000-8000-000000000051') where day = '2030-01-16'$$,
  $$values ('2030-01-16'::date, 11, '2030-01-16 00:01:00+00'::timestamptz, 1)$$,
  'the row holds the day''s 11 and the new minute''s 1'
);

-- Windows are UTC whatever the session's TimeZone --------------------------------------------------
set local timezone = 'America/Los_Angeles';
select is(
  tap.auth('wbk_p', '2030-01-15 15:59:59.5-08'),
  tap.expected('rate_limited', 'wbk_p', '{50, 50, 1894752000, 1}', '{1000, 0, 1894752000, 1}', 'day'),
  'TimeZone America/Los_Angeles: at 15:59:59.5 PST (23:59:59.5 UTC) pro''s spent UTC day still refuses'
);
select is(
  tap.auth('wbk_p', '2030-01-15 16:00:00-08'),
  tap.expected('ok', 'wbk_p', '{50, 49, 1894752060, 60}', '{1000, 999, 1894838400, 86400}'),
  'TimeZone America/Los_Angeles: at 16:00 PST, still the 15th there, the UTC day 2030-01-16 starts'
);
select results_eq(
  $$select day, day_used from tap.usage('0f400000-0000-4000-8000-000000000052')$$,
  $$values ('2030-01-15'::date, 1000), ('2030-01-16'::date, 1)$$,
  'TimeZone America/Los_Angeles: usage rows are per UTC day'
);
-- Africa/Monrovia was UTC-00:44:30 in 1971: a local minute there starts at :30 UTC.
set local timezone = 'Africa/Monrovia';
select is(
  tap.auth('wbk_h', '1971-06-01 12:00:10.5+00') -> 'rate_limit' -> 'minute',
  '{"limit": 10, "remaining": 9, "reset": 44625660, "reset_in": 50}'::jsonb,
  'TimeZone Africa/Monrovia (1971, -00:44:30): the minute window is the UTC minute, resetting at 12:01:00 UTC'
);
select is(
  tap.auth('wbk_h', '1971-06-01 12:00:40.25+00') -> 'rate_limit' -> 'minute',
  '{"limit": 10, "remaining": 8, "reset": 44625660, "reset_in": 20}'::jsonb,
  'TimeZone Africa/Monrovia: 12:00:40 UTC (a new local minute) counts in the same UTC minute'
);
select results_eq(
  $$select * from tap.usage('0f400000-0000-4000-8000-0000000000c3')$$,
  $$values ('1971-06-01'::date, 2, '1971-06-01 12:00:00+00'::timestamptz, 2)$$,
  'TimeZone Africa/Monrovia: one row for the UTC day and minute'
);
set local timezone to default;

-- Per-org overrides beat the plan, each window on its own (at 14:00:00) ------------------------------
select is(tap.burst('wbk_d', '2030-01-15 14:00:00+00', 3), array_fill('ok'::text, array[3]), 'day override 3 (starter): 3 requests are ok');
select is(
  tap.auth('wbk_d', '2030-01-15 14:00:00+00'),
  tap.expected('rate_limited', 'wbk_d', '{10, 7, 1894716060, 60}', '{3, 0, 1894752000, 36000}', 'day'),
  'day override 3: the 4th is refused by the day window; the minute keeps the plan''s 10'
);
select is(tap.burst('wbk_m', '2030-01-15 14:00:00+00', 2), array_fill('ok'::text, array[2]), 'minute override 2 (pro): 2 requests are ok');
select is(
  tap.auth('wbk_m', '2030-01-15 14:00:00+00'),
  tap.expected('rate_limited', 'wbk_m', '{2, 0, 1894716060, 60}', '{1000, 998, 1894752000, 36000}', 'minute'),
  'minute override 2: the 3rd is refused by the minute window; the day keeps the plan''s 1,000'
);
select is(tap.burst('wbk_u', '2030-01-15 14:00:00+00', 26), array_fill('ok'::text, array[25]) || 'rate_limited'::text,
  'minute override 25 on starter (plan: 10): an override above the plan counts too: 25 ok, the 26th refused');
select is(
  tap.auth('wbk_zd', '2030-01-15 14:00:00+00'),
  tap.expected('rate_limited', 'wbk_zd', '{10, 10, 1894716060, 60}', '{0, 0, 1894752000, 36000}', 'day'),
  'day override 0: the very first request is refused by the day window'
);
select is(
  tap.auth('wbk_zm', '2030-01-15 14:00:00+00'),
  tap.expected('rate_limited', 'wbk_zm', '{0, 0, 1894716060, 60}', '{100, 100, 1894752000, 36000}', 'minute'),
  'minute override 0: the very first request is refused by the minute window'
);
select is_empty(
  $$select * from public.api_usage where org_id in ('0f400000-0000-4000-8000-0000000000f0', '0f400000-0000-4000-8000-0000000000f1')$$,
  'a limit of 0 writes no usage row'
);
select results_eq(
  $$select tap.last_used('wbk_zd'), tap.last_used('wbk_zm')$$,
  $$values (null::timestamptz, null::timestamptz)$$,
  'a limit of 0 writes no last_used_at'
);

-- No partial consumption: a refusal by one window takes nothing from the other -------------------------
select results_eq(
  $$select * from tap.usage('0f400000-0000-4000-8000-0000000000d1')$$,
  $$values ('2030-01-15'::date, 3, '2030-01-15 14:00:00+00'::timestamptz, 3)$$,
  'refused by the day window: the minute count stayed at 3 (no minute token taken)'
);
select is(
  tap.auth('wbk_d', '2030-01-15 14:01:00.5+00'),
  tap.expected('rate_limited', 'wbk_d', '{10, 10, 1894716120, 60}', '{3, 0, 1894752000, 35940}', 'day'),
  'a minute later the day window still refuses; the new minute shows all 10 left (reset_in 59.5 s and 35,939.5 s round up)'
);
select results_eq(
  $$select * from tap.usage('0f400000-0000-4000-8000-0000000000d1')$$,
  $$values ('2030-01-15'::date, 3, '2030-01-15 14:00:00+00'::timestamptz, 3)$$,
  'and the row was not moved to the new minute: the refusal wrote nothing'
);
select results_eq(
  $$select * from tap.usage('0f400000-0000-4000-8000-0000000000e1')$$,
  $$values ('2030-01-15'::date, 2, '2030-01-15 14:00:00+00'::timestamptz, 2)$$,
  'refused by the minute window: the day count stayed at 2 (no day token taken)'
);

-- Overrides and plans apply from the next request ------------------------------------------------------
reset role;
update public.orgs set rate_limit_per_minute = null where id = '0f400000-0000-4000-8000-0000000000e1';
set local role service_role;
select is(
  tap.auth('wbk_m', '2030-01-15 14:00:00+00'),
  tap.expected('ok', 'wbk_m', '{50, 47, 1894716060, 60}', '{1000, 997, 1894752000, 36000}'),
  'the minute override cleared (null): the plan''s 50 a minute apply at once'
);
reset role;
update public.orgs set rate_limit_per_minute = 1 where id = '0f400000-0000-4000-8000-0000000000e1';
set local role service_role;
select is(
  tap.auth('wbk_m', '2030-01-15 14:00:00+00'),
  tap.expected('rate_limited', 'wbk_m', '{1, 0, 1894716060, 60}', '{1000, 997, 1894752000, 36000}', 'minute'),
  'an override lowered below what the minute already used: refused, remaining 0 (never negative)'
);
reset role;
update public.orgs set plan = 'pro' where id = '0f400000-0000-4000-8000-0000000000d1';
set local role service_role;
select is(
  tap.auth('wbk_d', '2030-01-15 14:02:00+00') -> 'rate_limit' -> 'day',
  '{"limit": 3, "remaining": 0, "reset": 1894752000, "reset_in": 35880}'::jsonb,
  'moved to pro, the org''s day override 3 still beats the plan'
);
reset role;
update public.orgs set rate_limit_per_day = null where id = '0f400000-0000-4000-8000-0000000000d1';
set local role service_role;
select is(
  tap.auth('wbk_d', '2030-01-15 14:02:00+00'),
  tap.expected('ok', 'wbk_d', '{50, 49, 1894716180, 60}', '{1000, 996, 1894752000, 35880}'),
  'the day override cleared: the pro plan''s limits apply, and the day''s 3 earlier requests still count'
);

-- A 403 takes a token; a 429 takes none and writes nothing (org c6, starter, at 14:00) --------------
select is(tap.auth('wbk_f_read', '2030-01-15 14:00:00+00') ->> 'outcome', 'insufficient_permissions', 'a key lacking the permission: insufficient_permissions');
select results_eq(
  $$select * from tap.usage('0f400000-0000-4000-8000-0000000000c6')$$,
  $$values ('2030-01-15'::date, 1, '2030-01-15 14:00:00+00'::timestamptz, 1)$$,
  'the forbidden request took a token from both windows'
);
select is(tap.last_used('wbk_f_read'), '2030-01-15 14:00:00+00'::timestamptz, 'the forbidden request recorded the key''s use');
select is(tap.burst('wbk_f', '2030-01-15 14:00:00+00', 9), array_fill('ok'::text, array[9]), 'the org''s other key takes the minute''s 9 other tokens');
select is(tap.auth('wbk_f_read', '2030-01-15 14:00:00+00') ->> 'outcome', 'rate_limited',
  'with the minute spent, the key lacking the permission is rate_limited, not forbidden (tokens come before the permission)');
reset role;
update public.api_keys set last_used_at = '2000-01-01 00:00:00+00' where org_id = '0f400000-0000-4000-8000-0000000000c6';
set local role service_role;
select is(tap.burst('wbk_f', '2030-01-15 14:00:30+00', 2) || tap.burst('wbk_f_read', '2030-01-15 14:00:30+00', 2),
  array_fill('rate_limited'::text, array[4]), 'four more requests in the spent minute: rate_limited');
select results_eq(
  $$select tap.last_used('wbk_f'), tap.last_used('wbk_f_read')$$,
  $$values ('2000-01-01 00:00:00+00'::timestamptz, '2000-01-01 00:00:00+00'::timestamptz)$$,
  'rate-limited requests do not touch last_used_at, even when the last use is old'
);
select results_eq(
  $$select * from tap.usage('0f400000-0000-4000-8000-0000000000c6')$$,
  $$values ('2030-01-15'::date, 10, '2030-01-15 14:00:00+00'::timestamptz, 10)$$,
  'rate-limited requests take no token from either window'
);

-- All keys of an org share its quota; invalid keys take none of it (org c1, starter) -----------------
select is(tap.burst('wbk_q_revoked', '2030-01-15 14:00:00+00', 20), array_fill('invalid_key'::text, array[20]), 'twenty requests by the org''s revoked key: invalid_key');
select is(tap.burst('wbk_q1', '2030-01-15 14:00:00+00', 5), array_fill('ok'::text, array[5]), 'the org''s first key: 5 ok (the revoked key used none of the quota)');
select is(tap.burst('wbk_q2', '2030-01-15 14:00:00+00', 6), array_fill('ok'::text, array[5]) || 'rate_limited'::text,
  'its second key: 5 ok, then rate_limited (10 a minute for the org, not per key)');
select is(tap.auth('wbk_q1', '2030-01-15 14:00:00+00') ->> 'outcome', 'rate_limited', 'the first key is refused now too');
select results_eq(
  $$select * from tap.usage('0f400000-0000-4000-8000-0000000000c1')$$,
  $$values ('2030-01-15'::date, 10, '2030-01-15 14:00:00+00'::timestamptz, 10)$$,
  'one usage row for the org: 10'
);
select is(tap.auth('wbk_a_rw', '2030-01-15 14:00:00+00') ->> 'outcome', 'ok', 'another org at the same instant is not limited by it');

-- last_used_at: at most one write a minute per key (org c2) ----------------------------------------
select is(tap.auth('wbk_l1', '2030-01-15 15:00:00+00') ->> 'outcome', 'ok', 'a first use at 15:00:00');
select is(tap.last_used('wbk_l1'), '2030-01-15 15:00:00+00'::timestamptz, 'a never-used key gets last_used_at = p_now');
select is(tap.auth('wbk_l1', '2030-01-15 15:00:30+00') ->> 'outcome', 'ok', 'a use 30 s later');
select is(tap.last_used('wbk_l1'), '2030-01-15 15:00:00+00'::timestamptz, '30 s later: not written again');
select is(tap.auth('wbk_l1', '2030-01-15 15:01:00+00') ->> 'outcome', 'ok', 'a use exactly a minute later');
select is(tap.last_used('wbk_l1'), '2030-01-15 15:00:00+00'::timestamptz, 'exactly a minute later: not written again');
select is(tap.auth('wbk_l1', '2030-01-15 15:01:00.000001+00') ->> 'outcome', 'ok', 'a use a minute and a microsecond later');
select is(tap.last_used('wbk_l1'), '2030-01-15 15:01:00.000001+00'::timestamptz, 'more than a minute later: written');
select is(tap.auth('wbk_l1', '2030-01-15 14:00:00+00') ->> 'outcome', 'ok', 'a use with an earlier p_now');
select is(tap.last_used('wbk_l1'), '2030-01-15 15:01:00.000001+00'::timestamptz, 'an earlier p_now never moves last_used_at back');
select is(tap.last_used('wbk_l2'), null::timestamptz, 'the org''s other key was not touched');

-- A late request (an earlier p_now, e.g. a transaction that began before the minute turned) counts in
-- the latest minute instead of reopening the previous one (org c5, pro, minute override 2) ----------
select is(tap.auth('wbk_late', '2030-01-15 16:05:00+00') ->> 'outcome', 'ok', 'one request at 16:05:00');
-- Its reset is that of 16:05, where it counted: 16:06, 61 s after its own clock.
select is(
  tap.auth('wbk_late', '2030-01-15 16:04:59+00'),
  tap.expected('ok', 'wbk_late', '{2, 0, 1894723560, 61}', '{1000, 998, 1894752000, 28501}'),
  'a request stamped 16:04:59 is ok, takes 16:05''s last token, and reports 16:05''s reset'
);
select results_eq(
  $$select * from tap.usage('0f400000-0000-4000-8000-0000000000c5')$$,
  $$values ('2030-01-15'::date, 2, '2030-01-15 16:05:00+00'::timestamptz, 2)$$,
  'the row stays on 16:05, now with 2: the late request did not move it back to 16:04'
);
select is(tap.auth('wbk_late', '2030-01-15 16:05:30+00') ->> 'outcome', 'rate_limited', 'so 16:05 is spent at 16:05:30');
select is(tap.auth('wbk_late', '2030-01-15 16:04:59+00') ->> 'outcome', 'rate_limited', 'and a late request does not reopen 16:04');
select is(
  tap.auth('wbk_late', '2030-01-15 16:06:00+00') -> 'rate_limit' -> 'minute',
  '{"limit": 2, "remaining": 1, "reset": 1894723620, "reset_in": 60}'::jsonb,
  'at 16:06 the minute starts over'
);

-- Without p_now, the transaction's now() is the clock --------------------------------------------------
select is(
  public.api_authorize(tap.kh('wbk_n'), 'contacts:write'),
  tap.expected('ok', 'wbk_n',
    array[10, 9, extract(epoch from date_trunc('minute', now(), 'UTC') + interval '1 minute')::bigint,
          ceil(extract(epoch from date_trunc('minute', now(), 'UTC') + interval '1 minute' - now()))::bigint],
    array[100, 99, extract(epoch from ((now() at time zone 'UTC')::date + 1)::timestamp at time zone 'UTC')::bigint,
          ceil(extract(epoch from ((now() at time zone 'UTC')::date + 1)::timestamp at time zone 'UTC' - now()))::bigint]),
  'without p_now: ok, windows of the current UTC minute and day'
);
select is(
  public.api_authorize(tap.kh('wbk_n'), 'contacts:write', null) -> 'rate_limit' -> 'minute' ->> 'remaining',
  '8',
  'a null p_now is the same clock (the same minute: 8 left)'
);
select results_eq(
  $$select u.day, u.day_used, u.minute, u.minute_used, tap.last_used('wbk_n') from tap.usage('0f400000-0000-4000-8000-0000000000c4') u$$,
  $$values ((now() at time zone 'UTC')::date, 2, date_trunc('minute', now(), 'UTC'), 2, now())$$,
  'without p_now, the row is today''s UTC day and minute and last_used_at is now()'
);

-- The slots: an org's day is 16 rows whose quotas add up to its limits -------------------------------
select results_eq(
  $$select count(*)::int, sum(day_quota)::int, sum(minute_quota)::int, min(day_limit), min(minute_limit),
           sum(day_used)::int, sum(minute_used)::int
    from public.api_usage where org_id = '0f400000-0000-4000-8000-0000000000c4'$$,
  $$values (16, 100, 10, 100, 10, 2, 2)$$,
  'the first request of a day created the org''s 16 slots, each with its share: the quotas add up to the limits (100, 10)'
);
select is_empty(
  $$select u.org_id, u.day from public.api_usage u
    where u.day_limit > 0 and u.minute_limit > 0
    group by u.org_id, u.day
    having sum(u.day_quota) > min(u.day_limit) or bool_or(u.day_used > u.day_quota)
        or min(u.day_limit) <> max(u.day_limit) or min(u.minute_limit) <> max(u.minute_limit)
        or count(*) <> 16$$,
  'after every request above, each org''s day holds 16 slots split from one limit, none counted past its day quota, the quotas adding up to at most the limit'
);
select is_empty(
  $$select u.org_id, u.day, u.minute from public.api_usage u
    where u.day_limit > 0 and u.minute_limit > 0
    group by u.org_id, u.day, u.minute
    having sum(u.minute_quota) > min(u.minute_limit) or bool_or(u.minute_used > u.minute_quota)$$,
  'and of each minute: no slot counted past its minute quota, the quotas of a minute adding up to at most the minute limit'
);

reset role;

select * from finish();
rollback;
