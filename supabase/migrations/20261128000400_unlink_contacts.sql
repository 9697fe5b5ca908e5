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
as $$
declare
  v_auth jsonb := public.api_authorize(p_key_hash, 'contacts:write', p_now);
  v_org uuid;
  v_requested uuid[];
  v_found uuid[];
  v_failed uuid[];
begin
  if v_auth->>'outcome' <> 'ok' then
    return v_auth;
  end if;
  v_org := (v_auth->>'org_id')::uuid;

  -- The same lock order as link (usage row, company KEY SHARE, contacts by ascending id), so a
  -- link and an unlink over the same rows queue instead of deadlocking.
  perform 1
  from public.companies c
  where c.org_id = v_org and c.id = p_company_id
  for key share;
  if not found then
    return v_auth || jsonb_build_object('outcome', 'company_not_found');
  end if;

  select coalesce(array_agg(t.id order by t.first_seen), '{}')
  into v_requested
  from (
    select r.id, min(r.ord) as first_seen
    from unnest(coalesce(p_contact_ids, '{}')) with ordinality as r (id, ord)
    where r.id is not null
    group by r.id
  ) t;

  select coalesce(array_agg(l.id), '{}')
  into v_found
  from (
    select c.id
    from public.contacts c
    where c.org_id = v_org and c.id = any (v_requested)
    order by c.id
    for no key update
  ) l;

  -- Only rows pointing at this company change; updated_at keeps meaning "last changed".
  update public.contacts c
  set company_id = null, updated_at = now()
  where c.id = any (v_found)
    and c.org_id = v_org
    and c.company_id = p_company_id;

  select coalesce(array_agg(r.id order by r.ord), '{}')
  into v_failed
  from unnest(v_requested) with ordinality as r (id, ord)
  where r.id <> all (v_found);

  return v_auth || jsonb_build_object('data', jsonb_build_object(
    'updated', cardinality(v_found),
    'failed', cardinality(v_failed),
    'failed_ids', to_jsonb(v_failed)
  ));
end;
$$;

revoke execute on function public.unlink_contacts_from_company(text, uuid, uuid[], timestamptz) from public, anon, authenticated;
grant execute on function public.unlink_contacts_from_company(text, uuid, uuid[], timestamptz) to service_role;
