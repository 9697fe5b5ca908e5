-- What link and unlink share: point an org's contacts, among the ids a client sent, at a company (or
-- at none), and count the ids. One pass over the contacts: each id is looked up through the primary
-- key (an org's other contacts are never read, however many it has: the cost follows the batch, not
-- the org), the org's rows are locked by ascending id, and those that must change are updated by
-- id from the locked set, in the same statement.
--
--   p_to    the company the contacts must point at afterwards (null: none)
--   p_from  only contacts pointing at this company change (null: any that do not point at p_to)
--
-- Returns {"updated", "failed", "failed_ids", "changed"}: over the distinct ids given, updated counts the
-- org's contacts (all of them end up in the requested state; those already in it are counted but
-- not rewritten, so updated_at keeps meaning "last changed") and failed the ids that are not the
-- org's contacts (another org's look missing), in the order first given; changed lists the contacts
-- this call rewrote, by id, each with the company it pointed at before: [{"id", "from"}] (what the
-- caller's webhook event says).
--
-- In schema internal: it trusts p_org_id, so only the endpoint functions may call it (PostgREST
-- does not expose the schema). The caller authorizes and locks the company first: the lock order
-- of every write is the org's usage slot (api_authorize), the company, then the contacts by id, so
-- overlapping requests queue instead of deadlocking.
create function internal.move_org_contacts(
  p_org_id uuid,
  p_contact_ids uuid[],
  p_to uuid,
  p_from uuid default null
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
  v_changed jsonb;
begin
  -- Distinct ids in the order the client first gave them.
  select coalesce(array_agg(t.id order by t.first_seen), '{}')
  into v_requested
  from (
    select r.id, min(r.ord) as first_seen
    from unnest(coalesce(p_contact_ids, '{}')) with ordinality as r (id, ord)
    where r.id is not null
    group by r.id
  ) t;

  with locked as (
    select c.id, c.company_id
    from unnest(v_requested) as r (id)
    join public.contacts c on c.id = r.id
    where c.org_id = p_org_id
    order by c.id
    for no key update of c
  ), moved as (
    update public.contacts c
    set company_id = p_to, updated_at = now()
    from locked l
    where c.id = l.id
      and l.company_id is distinct from p_to
      and (p_from is null or l.company_id = p_from)
    returning c.id, l.company_id as previous
  )
  select coalesce(array_agg(l.id order by l.id), '{}'),
         (select coalesce(jsonb_agg(jsonb_build_object('id', m.id, 'from', m.previous)
                                    order by m.id), '[]')
          from moved m)
  into v_found, v_changed
  from locked l;

  select coalesce(array_agg(r.id order by r.ord), '{}')
  into v_failed
  from unnest(v_requested) with ordinality as r (id, ord)
  where r.id <> all (v_found);

  return jsonb_build_object(
    'updated', cardinality(v_found),
    'failed', cardinality(v_failed),
    'failed_ids', to_jsonb(v_failed),
    'changed', v_changed
  );
end;
$$;

revoke execute on function internal.move_org_contacts(uuid, uuid[], uuid, uuid) from public, anon, authenticated;
grant execute on function internal.move_org_contacts(uuid, uuid[], uuid, uuid) to service_role;
