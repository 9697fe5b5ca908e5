-- Usage rows do not pile up: purge_api_usage deletes the days before the day before yesterday (UTC).
-- The limiter only ever reads today's row; two days more are kept for support questions.
-- Returns how many rows it deleted. Run it daily: scheduled below where pg_cron exists; elsewhere
-- call `select public.purge_api_usage();` from any scheduler.
create function public.purge_api_usage(p_now timestamptz default null)
returns integer
language sql
volatile
security invoker
set search_path = ''
as $$
  with gone as (
    delete from public.api_usage u
    where u.day < (coalesce(p_now, now()) at time zone 'UTC')::date - 2
    returning 1
  )
  select count(*)::integer from gone;
$$;

revoke execute on function public.purge_api_usage(timestamptz) from public, anon, authenticated;
grant execute on function public.purge_api_usage(timestamptz) to service_role;

-- On Supabase (and any server with pg_cron loaded) schedule it daily at 00:17 UTC. Guarded: a
-- database without pg_cron (plain Postgres, PGlite) still migrates, and says how to schedule it.
do $$
begin
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_cron') then
    create extension if not exists pg_cron with schema pg_catalog;
    perform cron.schedule('purge-api-usage', '17 0 * * *', 'select public.purge_api_usage()');
  else
    raise notice 'pg_cron is not available: schedule "select public.purge_api_usage()" daily yourself';
  end if;
exception
  -- Available but not loadable (not in shared_preload_libraries) or not permitted.
  when others then
    raise notice 'pg_cron could not be used (%): schedule "select public.purge_api_usage()" daily yourself', sqlerrm;
end;
$$;
