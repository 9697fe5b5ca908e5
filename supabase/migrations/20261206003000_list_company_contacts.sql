-- GET /v1/companies/{id}/contacts: pages by keyset as well as by number (issue 24). Ordered by
-- created_at, id. Page mode (p_after_id null): the page p_page, with the exact total, offset
-- bounded by the gateway (10,000 rows). Cursor mode (p_after_created_at, p_after_id: the last row
-- the client saw): the rows after that position, read from contacts_company_page_idx at the
-- position itself; no offset and no count, so a page costs the same at any depth.
-- data = {"contacts": [...], "total": n (null in cursor mode), "has_more": bool}; the gateway
-- writes the next cursor from the last contact.
--
-- The keyset pattern every list shares (kit/cursor.ts is its other half): one statement for both
-- modes, the position coalesced to the start of the order in page mode so the predicate is always
-- the index's own condition; limit per_page + 1, the extra row only saying whether more follow.
drop function public.list_company_contacts(text, uuid, integer, integer, timestamptz);

create function public.list_company_contacts(
  p_key_hash text,
  p_company_id uuid,
  p_page integer,
  p_per_page integer,
  p_now timestamptz default null,
  -- Text, cast here: a client library may send a timestamptz parameter cut to milliseconds
  -- (postgres.js does), which would put the position before the row it names.
  p_after_created_at text default null,
  p_after_id uuid default null
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
-- Every wait bounded where production runs it (see api_authorize).
set lock_timeout = '1s'
set statement_timeout = '5s'
as $$
declare
  v_auth jsonb := public.api_authorize(p_key_hash, 'contacts:read', p_now);
  v_org uuid;
  v_limit integer := greatest(p_per_page, 0);
  v_at timestamptz := coalesce(p_after_created_at::timestamptz, '-infinity');
  v_total bigint;
  v_contacts jsonb;
  v_has_more boolean;
begin
  if v_auth->>'outcome' <> 'ok' then
    return v_auth;
  end if;
  v_org := (v_auth->>'org_id')::uuid;

  if not exists (select 1 from public.companies c where c.org_id = v_org and c.id = p_company_id) then
    return v_auth || jsonb_build_object('outcome', 'company_not_found');
  end if;

  if p_after_id is null then
    select count(*) into v_total
    from public.contacts c
    where c.org_id = v_org and c.company_id = p_company_id;
  end if;

  select coalesce(jsonb_agg(jsonb_build_object(
           'id', p.id,
           'full_name', p.full_name,
           'email', p.email,
           'company_id', p.company_id,
           'created_at', to_char(p.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'updated_at', to_char(p.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
         ) order by p.created_at, p.id), '[]')
  into v_contacts
  from (
    select c.id, c.full_name, c.email, c.company_id, c.created_at, c.updated_at
    from public.contacts c
    where c.org_id = v_org and c.company_id = p_company_id
      and (c.created_at, c.id) > (v_at, coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'))
    order by c.created_at, c.id
    limit v_limit + 1
    offset case when p_after_id is null
             then (greatest(p_page, 1)::bigint - 1) * v_limit else 0 end
  ) p;

  v_has_more := jsonb_array_length(v_contacts) > v_limit;
  if v_has_more then
    v_contacts := v_contacts - v_limit;
  end if;

  return v_auth || jsonb_build_object('data', jsonb_build_object(
    'contacts', v_contacts, 'total', v_total, 'has_more', v_has_more));
end;
$$;

revoke execute on function public.list_company_contacts(text, uuid, integer, integer, timestamptz, text, uuid) from public, anon, authenticated;
grant execute on function public.list_company_contacts(text, uuid, integer, integer, timestamptz, text, uuid) to service_role;
