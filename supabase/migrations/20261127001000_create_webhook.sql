-- POST /v1/webhooks: a webhook endpoint for the key's org. The gateway has checked the URL (https,
-- a public address) and the event types, and generated the secret; they are checked here again
-- by the table's constraints. An org has at most 20 endpoints (orgs.max_webhook_endpoints
-- overrides that; past it: webhook_limit_reached). Returns
-- api_authorize's result, with data = {"webhook": {..., "secret"}}: the secret is shown only here.
create function public.create_webhook(
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

  -- Concurrent creates of one org count one after another (the limit holds); other orgs' do not
  -- wait.
  perform pg_advisory_xact_lock(hashtextextended('webhook_endpoints:' || v_org::text, 0));
  if (select count(*) from public.webhook_endpoints e where e.org_id = v_org and e.deleted_at is null)
     >= (select coalesce(o.max_webhook_endpoints, 20) from public.orgs o where o.id = v_org) then
    return v_auth || jsonb_build_object('outcome', 'webhook_limit_reached');
  end if;

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

  return v_auth || jsonb_build_object('data', jsonb_build_object(
    'webhook', internal.webhook_json(v_endpoint)::jsonb || jsonb_build_object('secret', v_endpoint.secret)
  ));
end;
$$;

revoke execute on function public.create_webhook(text, text, text[], text, text, boolean, timestamptz) from public, anon, authenticated;
grant execute on function public.create_webhook(text, text, text[], text, text, boolean, timestamptz) to service_role;
