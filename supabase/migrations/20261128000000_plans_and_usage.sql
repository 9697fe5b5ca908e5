-- Rate limits are data: a plan row per LeadLex plan, per-org overrides on orgs, and one usage row
-- per org and UTC day that also holds the current minute's count.

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

-- orgs.plan now references the table instead of a fixed list, so a new plan is a row.
alter table public.orgs drop constraint orgs_plan_check;
alter table public.orgs
  add constraint orgs_plan_fkey foreign key (plan) references public.plans (name) on update cascade;

-- Deleting or renaming a plan looks its orgs up by plan.
create index orgs_plan_idx on public.orgs (plan);

-- Per-org overrides; null means "the plan's". 0 refuses every request (a suspended org).
alter table public.orgs
  add column rate_limit_per_day integer check (rate_limit_per_day >= 0),
  add column rate_limit_per_minute integer check (rate_limit_per_minute >= 0);

-- One row per org and UTC day: the day's count and the count of the latest minute seen. Both
-- windows live in one row so that one upsert takes (or refuses) both tokens atomically under one
-- row lock: a request refused by either window consumes nothing in the other.
create table public.api_usage (
  org_id uuid not null references public.orgs (id) on delete cascade,
  day date not null,
  day_used integer not null check (day_used >= 0),
  minute timestamptz not null,
  minute_used integer not null check (minute_used >= 0),
  primary key (org_id, day)
);
-- For the retention function's range delete.
create index api_usage_day_idx on public.api_usage (day);

alter table public.plans enable row level security;
alter table public.api_usage enable row level security;
create policy service_role_all on public.plans for all to service_role using (true) with check (true);
create policy service_role_all on public.api_usage for all to service_role using (true) with check (true);

revoke all on table public.plans, public.api_usage from public, anon, authenticated, service_role;

-- api_authorize reads the org's plan and overrides, and meters in api_usage; the retention function
-- deletes old rows.
grant select on table public.plans to service_role;
grant select (id, plan, rate_limit_per_day, rate_limit_per_minute) on table public.orgs to service_role;
grant select, insert, update, delete on table public.api_usage to service_role;
