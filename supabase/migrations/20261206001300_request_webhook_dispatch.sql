-- pg_cron's idle check (see 20261127002000_request_webhook_dispatch.sql for the job and its
-- configuration): the function is asked to dispatch only when a delivery of an active endpoint is
-- due. Returns 'requested', 'idle', or why it could not ('no pg_net', 'no vault',
-- 'not configured').
create or replace function internal.request_webhook_dispatch()
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
  -- Only active endpoints' deliveries count: an endpoint that is off is never claimed, and
  -- counting its deliveries would ask the function every 10 seconds for nothing.
  if not exists (
    select 1
    from public.webhook_endpoints e
    join public.webhook_deliveries d on d.endpoint_id = e.id
    where e.active and d.status = 'pending' and d.next_attempt_at <= now()
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

