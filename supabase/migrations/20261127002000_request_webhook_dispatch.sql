-- On Supabase, pg_cron runs the dispatcher every 10 seconds: it asks the deployed function (its
-- dispatch route) to deliver what is due, through pg_net, with a secret kept in Vault. Two Vault
-- secrets configure it (docs/webhooks.md says how to create them):
--   api_gateway_url          https://<project-ref>.supabase.co/functions/v1
--   webhook_dispatch_secret  the same value as the function's WEBHOOK_DISPATCH_SECRET
-- Nothing is sent when no delivery is due. Returns what it did, in a word: 'requested', 'idle',
-- or why it could not ('no pg_net', 'no vault', 'not configured'). pg_net and Vault are reached
-- through dynamic SQL, so this migrates (and answers) on a database that has neither.
create function internal.request_webhook_dispatch()
returns text
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_url text;
  v_secret text;
begin
  if not exists (
    select 1 from public.webhook_deliveries d
    where d.status = 'pending' and d.next_attempt_at <= now()
      and (d.locked_until is null or d.locked_until <= now())
  ) then
    return 'idle';
  end if;
  if to_regproc('net.http_post') is null then
    return 'no pg_net';
  end if;
  if to_regclass('vault.decrypted_secrets') is null then
    return 'no vault';
  end if;
  execute $sql$
    select max(decrypted_secret) filter (where name = 'api_gateway_url'),
           max(decrypted_secret) filter (where name = 'webhook_dispatch_secret')
    from vault.decrypted_secrets
    where name in ('api_gateway_url', 'webhook_dispatch_secret')
  $sql$ into v_url, v_secret;
  if v_url is null or v_secret is null then
    return 'not configured';
  end if;
  execute 'select net.http_post(url := $1, headers := $2, body := $3, timeout_milliseconds := $4)'
  using rtrim(v_url, '/') || '/api-gateway/internal/dispatch-webhooks',
        jsonb_build_object('Authorization', 'Bearer ' || v_secret,
                           'Content-Type', 'application/json'),
        '{}'::jsonb,
        30000;
  return 'requested';
end;
$$;

revoke all on function internal.request_webhook_dispatch() from public;

-- Every 10 seconds where pg_cron takes seconds (1.5 and later: Supabase's); an older pg_cron gets
-- every minute, and says so. Guarded: a database without pg_cron still migrates.
-- pg_net carries the request: Supabase ships it (enabled here), a plain Postgres has none.
do $$
begin
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net;
  end if;
exception
  when others then
    raise notice 'pg_net could not be enabled (%): enable it, or call the dispatch route yourself', sqlerrm;
end;
$$;

do $$
begin
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_cron') then
    create extension if not exists pg_cron with schema pg_catalog;
    begin
      perform cron.schedule('dispatch-webhooks', '10 seconds', 'select internal.request_webhook_dispatch()');
    exception
      when others then
        raise notice 'pg_cron takes no seconds here (%): dispatching webhooks every minute instead', sqlerrm;
        perform cron.schedule('dispatch-webhooks', '* * * * *', 'select internal.request_webhook_dispatch()');
    end;
  else
    raise notice 'pg_cron is not available: call the dispatch route (POST /functions/v1/api-gateway/internal/dispatch-webhooks) every few seconds yourself';
  end if;
exception
  when others then
    raise notice 'pg_cron could not be used (%): call the dispatch route every few seconds yourself', sqlerrm;
end;
$$;
