-- POST /v1/companies/{id}/contacts/link: the function authorizes itself (api_authorize), so the
-- gateway makes one round trip and the key check, the rate-limit tokens and the links commit together.
-- Points the key's org's contacts at one of that org's companies. Returns api_authorize's result;
-- when it is "ok": either outcome "company_not_found" (nothing changed), or "ok" with
-- data = {"updated", "failed", "failed_ids"}: over the distinct ids given, updated counts the org's
-- contacts that now point at the company (already linked ones included) and failed the ids that
-- are not the org's contacts (another org's look missing), in the order first given. The batch size
-- is the API's to limit (the gateway refuses more than its limit before calling).
create function public.link_contacts_to_company(
  p_key_hash text,
  p_company_id uuid,
  p_contact_ids uuid[],
  p_now timestamptz default null
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
-- Every wait bounded where production runs it (see api_authorize): a lock held by another
-- transaction for a second, or the whole call past 5 s (under the gateway's 8 s), ends the call
-- with an error the gateway answers 503; nothing is written.
set lock_timeout = '1s'
set statement_timeout = '5s'
as $$
declare
  v_auth jsonb := public.api_authorize(p_key_hash, 'contacts:write', p_now);
  v_org uuid;
  v_moved jsonb;
begin
  if v_auth->>'outcome' <> 'ok' then
    return v_auth;
  end if;
  v_org := (v_auth->>'org_id')::uuid;

  -- Lock order, the same for every caller: the org's usage slot (in api_authorize), the company
  -- (KEY SHARE, so links to one company run side by side while a delete of it waits), then the
  -- contacts by ascending id. Overlapping requests therefore queue instead of deadlocking.
  perform 1
  from public.companies c
  where c.org_id = v_org and c.id = p_company_id
  for key share;
  if not found then
    return v_auth || jsonb_build_object('outcome', 'company_not_found');
  end if;

  -- link: every one of the org's contacts among the ids ends up at the company.
  v_moved := internal.move_org_contacts(v_org, p_contact_ids, p_to => p_company_id, p_from => null);

  -- The event, in this transaction: written when this call changed a contact and the org has an
  -- endpoint subscribed (internal.record_webhook_event decides; nothing otherwise).
  if jsonb_array_length(v_moved->'changed') > 0 then
    perform internal.record_webhook_event(v_org, 'company.contacts_linked', json_build_object(
      'company_id', p_company_id,
      'contact_ids', (select json_agg(c->>'id' order by c->>'id')
                      from jsonb_array_elements(v_moved->'changed') c),
      'count', jsonb_array_length(v_moved->'changed'),
      'moved_from', (select coalesce(json_object_agg(c->>'id', c->>'from' order by c->>'id'), '{}'::json)
                     from jsonb_array_elements(v_moved->'changed') c
                     where c->>'from' is not null)
    ));
  end if;
  return v_auth || jsonb_build_object('data', v_moved - 'changed');
end;
$$;

revoke execute on function public.link_contacts_to_company(text, uuid, uuid[], timestamptz) from public, anon, authenticated;
grant execute on function public.link_contacts_to_company(text, uuid, uuid[], timestamptz) to service_role;
