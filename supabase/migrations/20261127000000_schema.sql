-- Tenancy model: every row belongs to one org (a LeadLex "workspace"). The composite keys make
-- cross-org links impossible at the storage level, whatever the code above does.

create table public.orgs (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  plan text not null default 'starter' check (plan in ('starter', 'pro', 'org')),
  created_at timestamptz not null default now()
);

create table public.api_keys (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.orgs (id) on delete cascade,
  name text,
  -- Lowercase hex SHA-256 of the whole key string; the plaintext is never stored.
  key_hash text not null unique check (key_hash ~ '^[0-9a-f]{64}$'),
  -- First 12 characters of the key, so people can tell their keys apart.
  prefix text,
  permissions text[] not null default '{}',
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz,
  created_at timestamptz not null default now()
);
create index api_keys_org_id_idx on public.api_keys (org_id);

create table public.companies (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.orgs (id) on delete cascade,
  name text not null,
  domain text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Target of the contacts' composite foreign key.
  unique (org_id, id)
);

create table public.contacts (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.orgs (id) on delete cascade,
  company_id uuid,
  full_name text,
  email text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- A contact can only point at a company of its own org. Deleting the company unlinks the
  -- contact (only company_id is nulled: org_id is not null and must stay).
  constraint contacts_company_same_org_fkey foreign key (org_id, company_id)
    references public.companies (org_id, id) on delete set null (company_id)
);
create index contacts_org_id_company_id_idx on public.contacts (org_id, company_id);

-- RLS on, no policy for anon/authenticated: the API roles see nothing. service_role (BYPASSRLS on
-- Supabase) gets explicit policies too, so the RPCs work on a server where it lacks BYPASSRLS.
alter table public.orgs enable row level security;
alter table public.api_keys enable row level security;
alter table public.companies enable row level security;
alter table public.contacts enable row level security;

create policy service_role_all on public.orgs for all to service_role using (true) with check (true);
create policy service_role_all on public.api_keys for all to service_role using (true) with check (true);
create policy service_role_all on public.companies for all to service_role using (true) with check (true);
create policy service_role_all on public.contacts for all to service_role using (true) with check (true);

-- Do not rely on default privileges (Supabase's are changing; plain Postgres has none): take
-- everything away, then grant service_role exactly what the RPCs need.
revoke all on table public.orgs, public.api_keys, public.companies, public.contacts
  from public, anon, authenticated, service_role;

grant usage on schema public to service_role;
grant select on table public.api_keys to service_role;
grant update (last_used_at) on table public.api_keys to service_role;
grant select on table public.companies to service_role;
-- Row locks need UPDATE on some column: link_contacts_to_company locks the company (KEY SHARE)
-- before its contacts, so a concurrent delete of the company cannot deadlock with a link.
grant update (updated_at) on table public.companies to service_role;
grant select on table public.contacts to service_role;
grant update (company_id, updated_at) on table public.contacts to service_role;
