-- Webhook history does not pile up: attempts older than 30 days go, and so do deliveries that
-- ended (succeeded, failed or cancelled) more than 30 days ago, endpoints deleted more than 30
-- days ago, events no delivery needs any more that are older than that, and a deleted org's
-- events. Returns how many attempts it deleted. Scheduled daily below where pg_cron exists;
-- elsewhere call `select public.purge_webhook_history();` from any scheduler.
create function public.purge_webhook_history(p_now timestamptz default null)
returns integer
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_cutoff constant timestamptz := coalesce(p_now, now()) - interval '30 days';
  v_attempts integer;
begin
  with gone as (
    delete from public.webhook_attempts a where a.attempted_at < v_cutoff returning 1
  )
  select count(*)::integer into v_attempts from gone;

  delete from public.webhook_deliveries d
  where d.status in ('succeeded', 'failed', 'cancelled') and d.updated_at < v_cutoff;

  -- Deleted endpoints, 30 days on (their deliveries and attempts go with them).
  delete from public.webhook_endpoints e where e.deleted_at < v_cutoff;

  delete from public.webhook_events v
  where v.created_at < v_cutoff
    and not exists (
      select 1 from public.webhook_deliveries d where d.org_id = v.org_id and d.event_id = v.id
    );

  -- A deleted org's events (they keep no foreign key to orgs: see webhook_tables), at any age.
  delete from public.webhook_events v
  where not exists (select 1 from public.orgs o where o.id = v.org_id);
  return v_attempts;
end;
$$;

revoke execute on function public.purge_webhook_history(timestamptz) from public, anon, authenticated;
grant execute on function public.purge_webhook_history(timestamptz) to service_role;

-- On Supabase (and any server with pg_cron loaded) daily at 00:27 UTC. Guarded as the usage
-- retention is: a database without pg_cron still migrates.
do $$
begin
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_cron') then
    create extension if not exists pg_cron with schema pg_catalog;
    perform cron.schedule('purge-webhook-history', '27 0 * * *', 'select public.purge_webhook_history()');
  else
    raise notice 'pg_cron is not available: schedule "select public.purge_webhook_history()" daily yourself';
  end if;
exception
  when others then
    raise notice 'pg_cron could not be used (%): schedule "select public.purge_webhook_history()" daily yourself', sqlerrm;
end;
$$;
