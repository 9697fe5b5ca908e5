-- link_contacts_to_company, same contract, cheaper: the contacts are looked up once instead of
-- twice (a locking SELECT, then an UPDATE that searched them again), and through the primary key
-- only. The planner used to AND a bitmap of the org's index range with the ids' bitmap, so every
-- call read all of the org's index entries: the cost grew with the org, not with the batch.
create or replace function public.link_contacts_to_company(
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

  -- Lock order, the same for every caller: the org's usage row (in api_authorize), the company (KEY
  -- SHARE, so links to one company run side by side while a delete of it waits), then the
  -- contacts by ascending id. Overlapping requests therefore queue instead of deadlocking.
  perform 1
  from public.companies c
  where c.org_id = v_org and c.id = p_company_id
  for key share;
  if not found then
    return v_auth || jsonb_build_object('outcome', 'company_not_found');
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

  -- One pass over the contacts: each id is looked up through the primary key (the join on the
  -- unnested ids; an org's other contacts are never read, however many it has), the org's rows are
  -- locked by ascending id, and those not already at the company are updated by id from the
  -- locked set. Rows already pointing at the company are counted but not rewritten: updated_at
  -- keeps meaning "last changed".
  with locked as (
    select c.id, c.company_id
    from unnest(v_requested) as r (id)
    join public.contacts c on c.id = r.id
    where c.org_id = v_org
    order by c.id
    for no key update of c
  ), moved as (
    update public.contacts c
    set company_id = p_company_id, updated_at = now()
    from locked l
    where c.id = l.id
      and l.company_id is distinct from p_company_id
  )
  select coalesce(array_agg(l.id order by l.id), '{}')
  into v_found
  from locked l;

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

-- create or replace keeps the grants (execute for service_role only).
