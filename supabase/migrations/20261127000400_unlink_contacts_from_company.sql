-- POST /v1/companies/{id}/contacts/unlink: the key's org's contacts among the ids that point at the
-- company stop pointing at it (company_id = null); contacts linked to another company are left as
-- they are. Returns api_authorize's result; when it is "ok": either outcome "company_not_found"
-- (nothing changed), or "ok" with data = {"updated", "failed", "failed_ids"}: over the distinct ids
-- given, updated counts the org's contacts that, after the call, do not point at the company
-- (already unlinked ones included, as link counts already linked ones), failed the ids that are
-- not the org's contacts (another org's look missing), in the order first given.
create function public.unlink_contacts_from_company(
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

  -- The same lock order as link (usage slot, company KEY SHARE, contacts by ascending id), so a
  -- link and an unlink over the same rows queue instead of deadlocking.
  perform 1
  from public.companies c
  where c.org_id = v_org and c.id = p_company_id
  for key share;
  if not found then
    return v_auth || jsonb_build_object('outcome', 'company_not_found');
  end if;

  -- unlink: those at this company end up at none; those at another stay.
  v_moved := internal.move_org_contacts(v_org, p_contact_ids, p_to => null, p_from => p_company_id);

  -- The event, in this transaction, as link writes its own.
  if jsonb_array_length(v_moved->'changed') > 0 then
    perform internal.record_webhook_event(v_org, 'company.contacts_unlinked', json_build_object(
      'company_id', p_company_id,
      'contact_ids', (select json_agg(c->>'id' order by c->>'id')
                      from jsonb_array_elements(v_moved->'changed') c),
      'count', jsonb_array_length(v_moved->'changed')
    ));
  end if;
  return v_auth || jsonb_build_object('data', v_moved - 'changed');
end;
$$;

revoke execute on function public.unlink_contacts_from_company(text, uuid, uuid[], timestamptz) from public, anon, authenticated;
grant execute on function public.unlink_contacts_from_company(text, uuid, uuid[], timestamptz) to service_role;
