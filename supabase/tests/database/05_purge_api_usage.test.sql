-- purge_api_usage(p_now): usage rows are kept for today and the two UTC days before it; older ones
-- are deleted and counted. Called as service_role (what the gateway's role may run; pg_cron runs it
-- as the migration's owner, see tests/database/pg_cron.test.ts).
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(22);

grant usage on schema tap to service_role;

-- Contract ------------------------------------------------------------------------------------------
select has_function('public', 'purge_api_usage', array['timestamp with time zone'], 'purge_api_usage(timestamptz) exists');
select is(
  pg_get_function_arguments('public.purge_api_usage(timestamptz)'::regprocedure),
  'p_now timestamp with time zone DEFAULT NULL::timestamp with time zone',
  'purge_api_usage takes p_now (default null: now())'
);
select function_returns('public', 'purge_api_usage', array['timestamp with time zone'], 'integer', 'purge_api_usage returns integer (the rows deleted)');
select volatility_is('public', 'purge_api_usage', array['timestamp with time zone'], 'volatile', 'purge_api_usage is volatile');

-- Fixture: the only usage rows in this database, two orgs, 2030-01-09 .. 2030-01-16 -----------------
delete from public.api_usage;
insert into public.orgs (id, name) values
  ('0f500000-0000-4000-8000-000000000001', 'Retention A'),
  ('0f500000-0000-4000-8000-000000000002', 'Retention B');
insert into public.api_usage (org_id, day, day_used, minute, minute_used)
select o.id, d::date, 1, d + interval '12 hours', 1
from (values ('0f500000-0000-4000-8000-000000000001'::uuid), ('0f500000-0000-4000-8000-000000000002')) o (id)
cross join generate_series('2030-01-09'::timestamptz, '2030-01-16', interval '1 day') d;

create function tap.days() returns table (org text, days text)
language sql
as $$
  select right(u.org_id::text, 1), string_agg(to_char(u.day, 'MM-DD'), ' ' order by u.day)
  from public.api_usage u group by u.org_id order by 1
$$;

set local role service_role;

-- The boundary is the UTC day: today and the two days before stay --------------------------------
select is(public.purge_api_usage('2030-01-12 23:59:59.999999+00'), 2, 'on 2030-01-12 (UTC), a microsecond before midnight: 2 rows deleted');
select results_eq(
  $$select * from tap.days()$$,
  $$values ('1', '01-10 01-11 01-12 01-13 01-14 01-15 01-16'), ('2', '01-10 01-11 01-12 01-13 01-14 01-15 01-16')$$,
  'on the 12th the 9th of both orgs went; the 10th (the day before yesterday) and later stay'
);
select is(public.purge_api_usage('2030-01-13 00:00:00+00'), 2, 'at 2030-01-13 00:00:00 UTC: the 10th goes, 2 rows');
select results_eq(
  $$select * from tap.days()$$,
  $$values ('1', '01-11 01-12 01-13 01-14 01-15 01-16'), ('2', '01-11 01-12 01-13 01-14 01-15 01-16')$$,
  'from 2030-01-13 00:00 UTC the 11th, 12th and 13th (and later days) stay'
);
select is(public.purge_api_usage('2030-01-13 00:00:00+00'), 0, 'a second run on the same day deletes nothing and says 0');
select is(public.purge_api_usage('2030-01-15 12:00:00+00'), 4, 'on the 15th: the 11th and the 12th of both orgs, 4 rows');
select results_eq(
  $$select * from tap.days()$$,
  $$values ('1', '01-13 01-14 01-15 01-16'), ('2', '01-13 01-14 01-15 01-16')$$,
  'on the 15th: the 13th, 14th, 15th and the (future) 16th stay'
);
select is(
  (select count(*)::int from public.api_usage where day_used = 1 and minute_used = 1),
  8,
  'the rows that stay are untouched'
);

-- The session's TimeZone does not move the boundary ------------------------------------------------
set local timezone = 'Pacific/Kiritimati';
select is(
  public.purge_api_usage('2030-01-16 13:00:00+14'),
  0,
  'TimeZone Pacific/Kiritimati (+14): 2030-01-16 13:00 there is still the 15th in UTC: nothing deleted'
);
select is(public.purge_api_usage('2030-01-16 14:00:00+14'), 2, 'TimeZone Pacific/Kiritimati: 14:00 there is the 16th in UTC: the 13th goes');
set local timezone = 'America/Los_Angeles';
select is(
  public.purge_api_usage('2030-01-16 16:00:00-08'),
  2,
  'TimeZone America/Los_Angeles: 2030-01-16 16:00 there is the 17th in UTC: the 14th goes'
);
set local timezone to default;
select results_eq(
  $$select * from tap.days()$$,
  $$values ('1', '01-15 01-16'), ('2', '01-15 01-16')$$,
  'the 15th and 16th are left'
);

-- Without p_now: the transaction's now(), as pg_cron's `select public.purge_api_usage()` ----------
reset role;
delete from public.api_usage;
insert into public.api_usage (org_id, day, day_used, minute, minute_used)
select '0f500000-0000-4000-8000-000000000001', (now() at time zone 'UTC')::date - n, 1, now() - n * interval '1 day', 1
from generate_series(0, 4) n;
set local role service_role;
select is(public.purge_api_usage(), 2, 'without p_now: the rows of 3 and 4 UTC days ago are deleted');
select results_eq(
  $$select (now() at time zone 'UTC')::date - day from public.api_usage order by day desc$$,
  $$values (0), (1), (2)$$,
  'today''s row and the two before it stay'
);
select is(public.purge_api_usage(null), 0, 'a null p_now is the same clock: nothing more to delete');

-- What api_authorize is using right now is never purged (ten days from now) -------------------------
reset role;
insert into public.api_keys (org_id, key_hash) values ('0f500000-0000-4000-8000-000000000002', repeat('5', 64));
set local role service_role;
select is(
  public.api_authorize(repeat('5', 64), 'contacts:write', now() + interval '10 days') ->> 'outcome',
  'insufficient_permissions',
  'a request ten days from now is counted'
);
select is(public.purge_api_usage(now() + interval '10 days'), 3, 'purging at that instant deletes the 3 older rows');
select results_eq(
  $$select org_id, day, sum(day_used)::int from public.api_usage group by org_id, day$$,
  $$values ('0f500000-0000-4000-8000-000000000002'::uuid, ((now() + interval '10 days') at time zone 'UTC')::date, 1)$$,
  'the counter the limiter is using is kept'
);

reset role;

select * from finish();
rollback;
