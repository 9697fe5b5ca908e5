-- Every wait is bounded where production runs it: each function the gateway calls (those taking
-- p_key_hash: the endpoint functions, and api_authorize, which it calls alone for a request whose
-- input is refused) sets its own lock_timeout and statement_timeout. Read from the catalog, so a
-- function added later is held to it without an edit here. PostgREST (12.2 and later) hoists a
-- function's statement_timeout into the transaction before the call; lock_timeout applies inside
-- the function as it runs. What a timeout answers is proven on a server with two sessions
-- (tests/resilience/bounded_waits.test.ts).
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(5);

-- Each function the gateway calls, and the duration of each of its two settings (null: unset).
create function tap.waits() returns table (fn text, lock_timeout interval, statement_timeout interval)
language sql
as $$
  select p.oid::regprocedure::text,
         (select split_part(c, '=', 2)::interval from unnest(p.proconfig) c where c like 'lock\_timeout=%'),
         (select split_part(c, '=', 2)::interval from unnest(p.proconfig) c where c like 'statement\_timeout=%')
  from pg_proc p
  where p.pronamespace = 'public'::regnamespace and 'p_key_hash' = any (p.proargnames)
$$;

select cmp_ok(
  (select count(*)::int from tap.waits()), '>=', 4,
  'the gateway''s functions are found (api_authorize and the three endpoints at least)'
);
select is_empty(
  $$select fn from tap.waits() where lock_timeout is null or statement_timeout is null$$,
  'every function taking p_key_hash sets lock_timeout and statement_timeout in its own settings'
);
select is_empty(
  $$select fn from tap.waits()
    where lock_timeout <= interval '0' or lock_timeout > interval '1 second'
       or statement_timeout <= interval '0' or statement_timeout > interval '5 seconds'$$,
  'no lock is waited for more than a second, no call runs more than 5 s: the database gives up before the gateway (8 s), and 0 (no limit) is refused'
);
select cmp_ok(
  (select lock_timeout from tap.waits() where fn = 'api_authorize(text,text,timestamp with time zone)'),
  '<', interval '1 second',
  'a wait in the org''s own queue (its usage slots, in api_authorize) gives up well within a second'
);
select is(
  (select lock_timeout from tap.waits() where fn = 'api_authorize(text,text,timestamp with time zone)'),
  interval '500 milliseconds',
  'api_authorize waits at most 500 ms for the org''s slots, then answers busy'
);

select * from finish();
rollback;
