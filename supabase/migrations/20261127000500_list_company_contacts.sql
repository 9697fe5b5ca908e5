-- GET /v1/companies/{id}/contacts?page&per_page: one page of the company's contacts, ordered by
-- created_at, id, and how many there are in all. Returns api_authorize's result; when it is "ok":
-- either outcome "company_not_found", or "ok" with data = {"contacts": [...], "total": n}.
-- Timestamps are ISO 8601 in UTC whatever the session's TimeZone, so both adapters answer alike.
create function public.list_company_contacts(
  p_key_hash text,
  p_company_id uuid,
  p_page integer,
  p_per_page integer,
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
  v_auth jsonb := public.api_authorize(p_key_hash, 'contacts:read', p_now);
  v_org uuid;
  v_total bigint;
  v_contacts jsonb;
begin
  if v_auth->>'outcome' <> 'ok' then
    return v_auth;
  end if;
  v_org := (v_auth->>'org_id')::uuid;

  if not exists (select 1 from public.companies c where c.org_id = v_org and c.id = p_company_id) then
    return v_auth || jsonb_build_object('outcome', 'company_not_found');
  end if;

  select count(*) into v_total
  from public.contacts c
  where c.org_id = v_org and c.company_id = p_company_id;

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
    order by c.created_at, c.id
    limit greatest(p_per_page, 0)
    offset (greatest(p_page, 1)::bigint - 1) * greatest(p_per_page, 0)
  ) p;

  return v_auth || jsonb_build_object('data', jsonb_build_object('contacts', v_contacts, 'total', v_total));
end;
$$;

-- Pages are read in this order; the index serves both the filter and the sort.
create index contacts_company_page_idx on public.contacts (org_id, company_id, created_at, id);

revoke execute on function public.list_company_contacts(text, uuid, integer, integer, timestamptz) from public, anon, authenticated;
grant execute on function public.list_company_contacts(text, uuid, integer, integer, timestamptz) to service_role;
