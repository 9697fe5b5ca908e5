-- The daily retention job also deletes Idempotency-Key records past their 24 hours (they are
-- ignored from then on: a new request under the key takes the row over). Still returns the usage
-- rows it deleted; schedule unchanged (20261127000600_purge_api_usage.sql).
create or replace function public.purge_api_usage(p_now timestamptz default null)
returns integer
language sql
volatile
security invoker
set search_path = ''
as $$
  with expired as (
    delete from public.idempotency_records r
    where r.expires_at <= coalesce(p_now, now())
  ), gone as (
    delete from public.api_usage u
    where u.day < (coalesce(p_now, now()) at time zone 'UTC')::date - 2
    returning 1
  )
  select count(*)::integer from gone;
$$;
