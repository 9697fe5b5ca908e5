-- Tenancy model: every row belongs to one org (a LeadLex "workspace"). The composite keys make
-- cross-org links impossible at the storage level, whatever the code above does. Rate limits are
-- data: a plan row per LeadLex plan, per-org overrides on orgs, and the usage of each org and UTC day.

-- Functions that take an org id as an argument live in schema `internal`, which PostgREST does not
-- expose (supabase/config.toml, [api] schemas): only the endpoint functions, which take the org
-- from the caller's key, reach them. Tenancy then rests on more than each function's WHERE.
create schema if not exists internal;
revoke all on schema internal from public;
grant usage on schema internal to service_role;

create table public.plans (
  name text primary key,
  requests_per_day integer not null check (requests_per_day >= 0),
  requests_per_minute integer not null check (requests_per_minute >= 0)
);

-- Written here, not in seed.sql: every database (production included) needs them.
insert into public.plans (name, requests_per_day, requests_per_minute) values
  ('starter', 100, 10),
  ('pro', 1000, 50),
  ('org', 10000, 200);

create table public.orgs (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  -- A new plan is a row of plans; renaming one follows into its orgs.
  plan text not null default 'starter' references public.plans (name) on update cascade,
  -- Per-org overrides; null means "the plan's". 0 refuses every request (a suspended org).
  rate_limit_per_day integer check (rate_limit_per_day >= 0),
  rate_limit_per_minute integer check (rate_limit_per_minute >= 0),
  -- How many webhook endpoints the org may have; null means 20.
  max_webhook_endpoints integer check (max_webhook_endpoints >= 0),
  created_at timestamptz not null default now()
);
-- Deleting or renaming a plan looks its orgs up by plan.
create index orgs_plan_idx on public.orgs (plan);


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

-- The org's usage of one UTC day, split into 16 slots (rows) so that an org's concurrent requests
-- each take a token from a slot of their own instead of queueing on one row (api_authorize says
-- how, and why the limits stay exact). Each slot holds its share of the day's count and of the
-- latest minute's it has seen, and the quotas it may take alone: the day's and the minute's limit
-- split over the slots, re-split under a lock of all 16 when one runs out. The org's usage is the
-- sum over its slots. Both windows live in each row so that one update takes (or refuses) both
-- tokens atomically: a request refused by either window consumes nothing in the other.
create table public.api_usage (
  org_id uuid not null references public.orgs (id) on delete cascade,
  day date not null,
  slot smallint not null default 0 check (slot >= 0 and slot < 16),
  day_used integer not null check (day_used >= 0),
  minute timestamptz not null,
  minute_used integer not null check (minute_used >= 0),
  -- What this slot may count alone, and the limits those quotas were split from: a row whose
  -- limits are not the org's current ones (or a row written without quotas) is only ever counted
  -- in under the lock of all slots, which splits the quotas again.
  day_quota integer not null default 0 check (day_quota >= 0),
  minute_quota integer not null default 0 check (minute_quota >= 0),
  day_limit integer not null default 0 check (day_limit >= 0),
  minute_limit integer not null default 0 check (minute_limit >= 0),
  primary key (org_id, day, slot)
);
-- For the retention function's range delete.
create index api_usage_day_idx on public.api_usage (day);

-- RLS on, no policy for anon/authenticated: the API roles see nothing. service_role (BYPASSRLS on
-- Supabase) gets explicit policies too, so the RPCs work on a server where it lacks BYPASSRLS.
alter table public.orgs enable row level security;
alter table public.api_keys enable row level security;
alter table public.companies enable row level security;
alter table public.contacts enable row level security;
alter table public.plans enable row level security;
alter table public.api_usage enable row level security;

create policy service_role_all on public.orgs for all to service_role using (true) with check (true);
create policy service_role_all on public.api_keys for all to service_role using (true) with check (true);
create policy service_role_all on public.companies for all to service_role using (true) with check (true);
create policy service_role_all on public.contacts for all to service_role using (true) with check (true);
create policy service_role_all on public.plans for all to service_role using (true) with check (true);
create policy service_role_all on public.api_usage for all to service_role using (true) with check (true);

-- Do not rely on default privileges (Supabase's are changing; plain Postgres has none): take
-- everything away, then grant service_role exactly what the RPCs need.
revoke all on table public.plans, public.orgs, public.api_keys, public.companies, public.contacts,
  public.api_usage from public, anon, authenticated, service_role;

grant usage on schema public to service_role;
grant select on table public.api_keys to service_role;
grant update (last_used_at) on table public.api_keys to service_role;
grant select on table public.companies to service_role;
-- Row locks need UPDATE on some column: link_contacts_to_company locks the company (KEY SHARE)
-- before its contacts, so a concurrent delete of the company cannot deadlock with a link.
grant update (updated_at) on table public.companies to service_role;
grant select on table public.contacts to service_role;
grant update (company_id, updated_at) on table public.contacts to service_role;
-- api_authorize reads the org's plan and overrides, and meters in api_usage; the retention function
-- deletes old rows.
grant select on table public.plans to service_role;
grant select (id, plan, rate_limit_per_day, rate_limit_per_minute) on table public.orgs to service_role;
grant select, insert, update, delete on table public.api_usage to service_role;
