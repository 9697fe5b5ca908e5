-- Webhooks: an org's endpoints, the events its changes produce (an outbox, written by the endpoint
-- functions in the transaction that made the change), one delivery per event and subscribed
-- endpoint, and each delivery's attempts. Delivery is at-least-once: a dispatcher claims due
-- deliveries (claim_webhook_deliveries), POSTs them signed per Standard Webhooks, and records each
-- attempt (record_webhook_attempt), which schedules the retry.
-- The functions that take an org id live in schema `internal` (see the schema migration).

-- The event types, one home in SQL (the gateway's list, supabase/functions/api-gateway/webhooks/
-- events.ts, is held to it by tests/webhooks/events.test.ts).
create function internal.webhook_event_types()
returns text[]
language sql
immutable
security invoker
set search_path = ''
as $$ select array['company.contacts_linked', 'company.contacts_unlinked'] $$;

create table public.webhook_endpoints (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.orgs (id) on delete cascade,
  url text not null check (url ~ '^https?://' and length(url) <= 2048),
  events text[] not null
    check (cardinality(events) between 1 and 10 and events <@ internal.webhook_event_types()),
  description text check (length(description) <= 500),
  active boolean not null default true,
  -- Standard Webhooks secrets: whsec_ and the base64 of the key. The previous one keeps signing
  -- beside the new one for 24 hours after a rotation.
  secret text not null check (secret ~ '^whsec_[A-Za-z0-9+/]{32,}={0,2}$'),
  previous_secret text check (previous_secret ~ '^whsec_[A-Za-z0-9+/]{32,}={0,2}$'),
  previous_secret_expires_at timestamptz,
  -- Why the gateway turned it off: 'gone' (the receiver answered 410) or 'failing' (every
  -- delivery failed for 5 days); null when active, or turned off by the org itself.
  disabled_reason text check (disabled_reason in ('gone', 'failing')),
  -- Since when every attempt failed (null after a success): 5 days of it disables the endpoint.
  failing_since timestamptz,
  last_delivery_status text check (last_delivery_status in ('success', 'failed')),
  last_delivery_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Deleted (DELETE /v1/webhooks/{id}): gone from every answer, its pending deliveries cancelled,
  -- kept 30 days so that a repeated DELETE is answered as the first was (DELETE is idempotent,
  -- so a client may retry it after a timeout), then purged with its history.
  deleted_at timestamptz,
  -- Target of the deliveries' composite foreign key.
  unique (org_id, id)
);
create index webhook_endpoints_org_id_idx on public.webhook_endpoints (org_id, created_at, id)
  where deleted_at is null;

-- Written on the request path, so it costs as little as it can: keyed by (org_id, id), the one
-- B-tree that serves the deliveries' foreign key and every lookup (all of which know the org), and
-- no foreign key to orgs, whose check would lock the org's row in every change's transaction (the
-- bench measured that lock and check at a third of an event's cost). The org's endpoints and
-- deliveries go with the org (their keys cascade); its events are removed by the retention job
-- (purge_webhook_history), whatever their age.
create table public.webhook_events (
  id uuid not null default gen_random_uuid(),
  org_id uuid not null,
  type text not null check (type = any (internal.webhook_event_types())),
  -- The body exactly as delivered and signed: {"type", "timestamp", "data"}, in that order.
  body text not null,
  -- The order events were written in: for one contact, the order its changes committed in (the
  -- change and its event are written under the contact's row lock).
  seq bigint generated always as identity,
  created_at timestamptz not null default now(),
  primary key (org_id, id)
);
-- Retention's question (events older than 30 days). BRIN: rows arrive in created_at order, and an
-- event is written on the request path, where a B-tree insert more would be paid by every change.
create index webhook_events_created_at_idx on public.webhook_events using brin (created_at);

create table public.webhook_deliveries (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  event_id uuid not null,
  endpoint_id uuid not null,
  -- pending (due at next_attempt_at), succeeded, failed (attempts spent, or the receiver is gone),
  -- cancelled (its endpoint was deleted before it went).
  status text not null default 'pending'
    check (status in ('pending', 'succeeded', 'failed', 'cancelled')),
  attempts integer not null default 0 check (attempts >= 0),
  next_attempt_at timestamptz not null default now(),
  -- A claimed delivery is leased to its dispatcher until then; a dispatcher that dies mid-delivery
  -- loses its lease, and the delivery is claimed again (at-least-once).
  locked_until timestamptz,
  last_attempt_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (org_id, event_id) references public.webhook_events (org_id, id) on delete cascade,
  foreign key (org_id, endpoint_id) references public.webhook_endpoints (org_id, id)
    on delete cascade
);
-- The dispatcher's question: each endpoint's oldest pending deliveries (and whether any is due).
create index webhook_deliveries_pending_idx on public.webhook_deliveries
  (endpoint_id, next_attempt_at, id) where status = 'pending';
-- ... and how many of an endpoint's are in flight (leased): a handful, however long the backlog.
create index webhook_deliveries_leased_idx on public.webhook_deliveries (endpoint_id, locked_until)
  where status = 'pending' and locked_until is not null;
create index webhook_deliveries_endpoint_idx on public.webhook_deliveries
  (org_id, endpoint_id, created_at desc, id);
create index webhook_deliveries_event_idx on public.webhook_deliveries (org_id, event_id);

create table public.webhook_attempts (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  delivery_id uuid not null,
  attempt integer not null check (attempt >= 1),
  attempted_at timestamptz not null,
  -- The receiver's status, or null when none came (timeout, refused connection, blocked address).
  status_code integer check (status_code between 100 and 599),
  duration_ms integer not null check (duration_ms >= 0),
  -- Why it failed, in a word: timeout, connection, blocked_address, redirect, http_status.
  error_class text check (length(error_class) <= 40),
  -- The start of the receiver's answer, for debugging; never more.
  response_prefix text check (length(response_prefix) <= 256),
  foreign key (delivery_id) references public.webhook_deliveries (id) on delete cascade
);
create index webhook_attempts_delivery_idx on public.webhook_attempts (delivery_id, attempt);
create index webhook_attempts_attempted_at_idx on public.webhook_attempts using brin (attempted_at);

alter table public.webhook_endpoints enable row level security;
alter table public.webhook_events enable row level security;
alter table public.webhook_deliveries enable row level security;
alter table public.webhook_attempts enable row level security;

create policy service_role_all on public.webhook_endpoints for all to service_role
  using (true) with check (true);
create policy service_role_all on public.webhook_events for all to service_role
  using (true) with check (true);
create policy service_role_all on public.webhook_deliveries for all to service_role
  using (true) with check (true);
create policy service_role_all on public.webhook_attempts for all to service_role
  using (true) with check (true);

revoke all on table public.webhook_endpoints, public.webhook_events, public.webhook_deliveries,
  public.webhook_attempts from public, anon, authenticated, service_role;
revoke all on function internal.webhook_event_types() from public;
grant execute on function internal.webhook_event_types() to service_role;

-- What the webhook functions need, and nothing else (pgTAP 03 lists it, 10 proves each is used):
-- reads; the columns each function writes; deletes for the retention job.
grant select on table public.webhook_endpoints, public.webhook_events, public.webhook_deliveries,
  public.webhook_attempts to service_role;
grant insert (org_id, url, events, description, active, secret)
  on table public.webhook_endpoints to service_role;
grant update (url, events, description, active, secret, previous_secret,
  previous_secret_expires_at, disabled_reason, failing_since, last_delivery_status,
  last_delivery_at, updated_at, deleted_at) on table public.webhook_endpoints to service_role;
grant insert (org_id, type, body) on table public.webhook_events to service_role;
grant insert (org_id, event_id, endpoint_id) on table public.webhook_deliveries to service_role;
grant update (status, attempts, next_attempt_at, locked_until, last_attempt_at, updated_at)
  on table public.webhook_deliveries to service_role;
grant insert (org_id, delivery_id, attempt, attempted_at, status_code, duration_ms, error_class,
  response_prefix) on table public.webhook_attempts to service_role;
grant delete on table public.webhook_endpoints, public.webhook_events, public.webhook_deliveries,
  public.webhook_attempts to service_role;
grant select (max_webhook_endpoints) on table public.orgs to service_role;
