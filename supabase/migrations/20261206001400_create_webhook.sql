-- POST /v1/webhooks: a webhook endpoint for the key's org. The gateway has checked the URL (https,
-- a public address, as the WHATWG parser writes it) and the event types, and generated the
-- secret; the table's constraints hold them again. An org has at most 20 endpoints
-- (orgs.max_webhook_endpoints overrides that; past it: webhook_limit_reached), and one endpoint
-- per URL (webhook_url_taken; the unique index webhook_endpoints_org_url_key holds it too).
-- Returns api_authorize's result, with data = {"webhook": {..., "secret"}}: the secret is shown
-- only here.
create or replace function public.create_webhook(
  p_key_hash text,
  p_url text,
  p_events text[],
  p_secret text,
  p_description text default null,
  p_active boolean default true,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
set lock_timeout = '1s'
set statement_timeout = '5s'
as $$
declare
  v_auth jsonb := public.api_authorize(p_key_hash, 'webhooks:write', p_now);
  v_org uuid;
  v_endpoint public.webhook_endpoints;
begin
  if v_auth->>'outcome' <> 'ok' then
    return v_auth;
  end if;
  v_org := (v_auth->>'org_id')::uuid;

  -- Concurrent creates and URL changes of one org go one after another (the limit and the URL's
  -- uniqueness hold); other orgs' do not wait.
  perform pg_advisory_xact_lock(hashtextextended('webhook_endpoints:' || v_org::text, 0));
  if (select count(*) from public.webhook_endpoints e where e.org_id = v_org and e.deleted_at is null)
     >= (select coalesce(o.max_webhook_endpoints, 20) from public.orgs o where o.id = v_org) then
    return v_auth || jsonb_build_object('outcome', 'webhook_limit_reached');
  end if;
  if exists (select 1 from public.webhook_endpoints e
             where e.org_id = v_org and e.url = p_url and e.deleted_at is null) then
    return v_auth || jsonb_build_object('outcome', 'webhook_url_taken');
  end if;

  begin
    insert into public.webhook_endpoints (org_id, url, events, description, active, secret)
    values (
      v_org,
      p_url,
      array(select distinct t from unnest(p_events) t order by t),
      p_description,
      coalesce(p_active, true),
      p_secret
    )
    returning * into v_endpoint;
  exception
    -- Written past the lock (by hand, say): an outcome, never an error in the database's log.
    when unique_violation then
      return v_auth || jsonb_build_object('outcome', 'webhook_url_taken');
  end;

  return v_auth || jsonb_build_object('data', jsonb_build_object(
    'webhook', internal.webhook_json(v_endpoint)::jsonb || jsonb_build_object('secret', v_endpoint.secret)
  ));
end;
$$;
