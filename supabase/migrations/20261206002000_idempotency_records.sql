-- Idempotency-Key (docs/using-the-api.md, "Safe retries"): one row per org and key, written by
-- api_idempotent_call in the transaction of the request's work, so a request that rolled back left
-- none and one that committed always has it.
--
-- Nothing here is readable without the Idempotency-Key itself: key_hash is its SHA-256 (lookup
-- only, scoped by org: another org's use of the same value is another row); fingerprint is an
-- HMAC of the request (method, path, parameters, body as a JSON value) under a key derived from the
-- value; answer is the endpoint function's result (outcome and data, never the rate-limit state)
-- encrypted and authenticated under keys derived from the value (HKDF-SHA-256 in the gateway:
-- kit/idempotency.ts). A dump shows neither the answers (a webhook's signing secret, a new API
-- key) nor the bodies that were sent.
--
-- pgcrypto gives the encryption: in schema extensions, where Supabase keeps it already.
create schema if not exists extensions;
create extension if not exists pgcrypto with schema extensions;
grant usage on schema extensions to service_role;

create table public.idempotency_records (
  -- No foreign key to orgs: its check would lock the org's row (KEY SHARE) and cost a lookup on
  -- every write with the header; a deleted org's records are unreachable (no key resolves to it)
  -- and go with the retention job within a day.
  org_id uuid not null,
  -- Raw bytes, not hex text: a smaller key to index, and a length check instead of a
  -- '^[0-9a-f]{64}$' pattern, which costs ~40 us a row to match.
  key_hash bytea not null check (length(key_hash) = 32),
  fingerprint bytea not null check (length(fingerprint) = 32),
  -- The route (method and path template) that first used the key: for support, never secret.
  method text not null,
  path text not null,
  -- iv (16 bytes) || AES-256-CBC ciphertext || HMAC-SHA-256 of iv || ciphertext (32 bytes).
  answer bytea not null,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  primary key (org_id, key_hash)
);
-- No index on expires_at: the daily retention job (purge_api_usage) scans a table that holds about
-- a day of writes, where an index would cost every write with the header.

alter table public.idempotency_records enable row level security;
create policy service_role_all on public.idempotency_records for all to service_role
  using (true) with check (true);
revoke all on public.idempotency_records from public, anon, authenticated, service_role;
-- Written once per first request (insert), read on a retry (select), removed when expired (delete:
-- by the retention job, or when a new request under the key replaces it).
grant select, insert, delete on public.idempotency_records to service_role;
