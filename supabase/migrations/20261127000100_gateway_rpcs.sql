-- The gateway's RPCs. Business rules live here, in one transaction per call; the gateway only
-- authenticates, validates and maps results to HTTP.

-- The active key with this hash: its org, id, permissions and when it was last used (so the caller
-- can decide whether to record a use), or no row.
create function public.authenticate_api_key(p_key_hash text)
returns table (org_id uuid, key_id uuid, permissions text[], last_used_at timestamptz)
language sql
stable
security invoker
set search_path = ''
as $$
  select k.org_id, k.id, k.permissions, k.last_used_at
  from public.api_keys k
  where k.key_hash = p_key_hash
    and k.revoked_at is null
    and (k.expires_at is null or k.expires_at > now());
$$;

-- Records a use of a key at most once a minute: the condition makes concurrent calls collapse into
-- one write, and keeps hot keys from turning every request into an UPDATE.
create function public.touch_api_key(p_key_id uuid)
returns void
language sql
volatile
security invoker
set search_path = ''
as $$
  update public.api_keys k
  set last_used_at = now()
  where k.id = p_key_id
    and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute');
$$;

-- Points the org's contacts at one of the org's companies.
-- Returns {"company_found": false} when the company is not the org's (nothing is changed), else
-- {"company_found": true, "updated": n, "failed": m, "failed_ids": [...]} where, over the distinct
-- ids given, updated counts the org's contacts that now point at the company (already linked ones
-- included) and failed the ids that are not the org's contacts (another org's look missing).
create function public.link_contacts_to_company(
  p_org_id uuid,
  p_company_id uuid,
  p_contact_ids uuid[]
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_requested uuid[];
  v_found uuid[];
  v_failed uuid[];
begin
  if cardinality(p_contact_ids) > 100 then
    raise exception using errcode = '22023', message = 'at most 100 contact ids per call';
  end if;

  -- Lock order, the same for every caller: the company (KEY SHARE, so links to one company run
  -- side by side while a delete of it waits), then the contacts by ascending id. Overlapping
  -- requests therefore queue instead of deadlocking.
  perform 1
  from public.companies c
  where c.org_id = p_org_id and c.id = p_company_id
  for key share;
  if not found then
    return jsonb_build_object('company_found', false);
  end if;

  -- Distinct ids in the order the client first gave them.
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
    where c.org_id = p_org_id and c.id = any (v_requested)
    order by c.id
    for no key update
  ) l;

  -- Rows already pointing at the company are counted but not rewritten: updated_at keeps meaning
  -- "last changed".
  update public.contacts c
  set company_id = p_company_id, updated_at = now()
  where c.id = any (v_found)
    and c.org_id = p_org_id
    and c.company_id is distinct from p_company_id;

  select coalesce(array_agg(r.id order by r.ord), '{}')
  into v_failed
  from unnest(v_requested) with ordinality as r (id, ord)
  where r.id <> all (v_found);

  return jsonb_build_object(
    'company_found', true,
    'updated', cardinality(v_found),
    'failed', cardinality(v_failed),
    'failed_ids', to_jsonb(v_failed)
  );
end;
$$;

revoke execute on function public.authenticate_api_key(text) from public, anon, authenticated;
revoke execute on function public.touch_api_key(uuid) from public, anon, authenticated;
revoke execute on function public.link_contacts_to_company(uuid, uuid, uuid[]) from public, anon, authenticated;
grant execute on function public.authenticate_api_key(text) to service_role;
grant execute on function public.touch_api_key(uuid) to service_role;
grant execute on function public.link_contacts_to_company(uuid, uuid, uuid[]) to service_role;
