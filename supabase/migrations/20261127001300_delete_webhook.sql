-- DELETE /v1/webhooks/{id}: the endpoint is deleted: gone from every answer, never delivered to
-- again, its pending deliveries cancelled (one already on its way may still arrive). Deleting it
-- again answers the same (DELETE is idempotent: a client may retry one whose answer it lost); the
-- retention job purges it and its history after 30 days. Another org's endpoint, or none:
-- outcome webhook_not_found.
create function public.delete_webhook(
  p_key_hash text,
  p_webhook_id uuid,
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
begin
  if v_auth->>'outcome' <> 'ok' then
    return v_auth;
  end if;
  v_org := (v_auth->>'org_id')::uuid;

  -- Lock order: the endpoint, then its deliveries (as record_webhook_attempt).
  update public.webhook_endpoints e
  set deleted_at = coalesce(e.deleted_at, now()), active = false, updated_at = now()
  where e.org_id = v_org and e.id = p_webhook_id;
  if not found then
    return v_auth || jsonb_build_object('outcome', 'webhook_not_found');
  end if;
  update public.webhook_deliveries d
  set status = 'cancelled', locked_until = null, updated_at = now()
  where d.org_id = v_org and d.endpoint_id = p_webhook_id and d.status = 'pending';
  return v_auth || jsonb_build_object('data', jsonb_build_object('deleted', true));
end;
$$;

revoke execute on function public.delete_webhook(text, uuid, timestamptz) from public, anon, authenticated;
grant execute on function public.delete_webhook(text, uuid, timestamptz) to service_role;
