-- service_role holds no privilege its RPCs do not need. 03_security proves the grants are exactly
-- the listed ones; this file proves each of them is used: taking any one away (table, column,
-- schema or function privilege, read from the catalog) makes a workload that calls every RPC on
-- each of its paths, as service_role, fail with insufficient_privilege. A grant added later with
-- no use fails here, listed. EXECUTE on a function is probed by calling that function (with null
-- arguments), so a new RPC needs no edit here; the workload covers the table privileges.
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(4);

grant usage on schema tap to service_role;

-- Fixture: a starter org with a key that may link, a company, a contact and a usage row old enough
-- to purge; an org whose minute limit is 0, for api_authorize's refusal path.
insert into public.orgs (id, name, plan, rate_limit_per_minute) values
  ('0f800000-0000-4000-8000-000000000001', 'Grants Org', 'starter', null),
  ('0f800000-0000-4000-8000-000000000002', 'Grants Org, suspended', 'starter', 0);
insert into public.api_keys (org_id, key_hash, prefix, permissions) values
  ('0f800000-0000-4000-8000-000000000001', repeat('8a', 32), 'wbk_grants', array['contacts:write']),
  ('0f800000-0000-4000-8000-000000000001', repeat('8c', 32), 'wbk_hooks',
   array['contacts:write', 'webhooks:read', 'webhooks:write']),
  ('0f800000-0000-4000-8000-000000000002', repeat('8b', 32), 'wbk_suspend', array['contacts:write']),
  ('0f800000-0000-4000-8000-000000000001', repeat('8d', 32), 'wbk_admin', array['admin:api_keys']);
insert into public.companies (id, org_id, name) values
  ('c0800000-0000-4000-8000-000000000001', '0f800000-0000-4000-8000-000000000001', 'Grants Co');
insert into public.contacts (id, org_id, full_name) values
  ('80000000-0000-4000-8000-000000000001', '0f800000-0000-4000-8000-000000000001', 'Grants contact');
insert into public.api_usage (org_id, day, day_used, minute, minute_used) values
  ('0f800000-0000-4000-8000-000000000001', '2030-01-01', 1, '2030-01-01 00:00:00+00', 1);

-- Every RPC, every path that touches a table: api_authorize inserting the day's row and recording
-- the key's use; link_contacts_to_company taking the next token (the upsert's update), locking the
-- company and updating the contact; api_authorize refusing (reading the row it reports);
-- link's Idempotency-Key form and api_idempotent_call on each of their paths; purge_api_usage
-- deleting. A wrong answer raises too, so a privilege cannot be dropped silently.
create function tap.workload() returns void
language plpgsql
as $$
declare
  v_at constant timestamptz := '2030-01-15 12:00:30+00';
  r jsonb;
begin
  r := public.api_authorize(repeat('8a', 32), 'contacts:write', v_at);
  if r ->> 'outcome' <> 'ok' or r #>> '{rate_limit,minute,remaining}' <> '9' then
    raise exception 'api_authorize answered %', r;
  end if;
  r := public.link_contacts_to_company(repeat('8a', 32), 'c0800000-0000-4000-8000-000000000001',
    array['80000000-0000-4000-8000-000000000001']::uuid[], v_at);
  if r ->> 'outcome' <> 'ok' or r #>> '{data,updated}' <> '1' or r #>> '{rate_limit,minute,remaining}' <> '8' then
    raise exception 'link_contacts_to_company answered %', r;
  end if;
  r := public.api_authorize(repeat('8b', 32), 'contacts:write', v_at);
  if r ->> 'outcome' <> 'rate_limited' then
    raise exception 'api_authorize (limit 0) answered %', r;
  end if;
  -- Idempotency-Key: a first request claims its record and stores its answer, the retry reads it,
  -- another request under the key is refused, a gateway refusal (the suspended org) removes its
  -- claim; two days on the retention job deletes the expired record.
  r := public.link_contacts_to_company_idempotent(
    p_key_hash => repeat('8a', 32), p_company_id => 'c0800000-0000-4000-8000-000000000001',
    p_contact_ids => array['80000000-0000-4000-8000-000000000001']::uuid[],
    p_permission => 'contacts:write', p_idempotency_key => 'idem-1', p_request => '["request-1"]',
    p_method => 'post', p_path => '/v1/companies/{id}/contacts/link', p_now => v_at);
  if r ->> 'outcome' <> 'ok' or r ? 'replayed' then
    raise exception 'link_contacts_to_company_idempotent (first) answered %', r;
  end if;
  r := public.api_idempotent_call('link_contacts_to_company',
    '{"p_company_id": "c0800000-0000-4000-8000-000000000001", "p_contact_ids": ["80000000-0000-4000-8000-000000000001"]}',
    repeat('8a', 32), 'contacts:write', 'idem-1', '["request-1"]',
    'post', '/v1/companies/{id}/contacts/link', v_at);
  if r ->> 'outcome' <> 'ok' or r ->> 'replayed' <> 'true' or r #>> '{data,updated}' <> '1' then
    raise exception 'api_idempotent_call (replay) answered %', r;
  end if;
  r := public.api_idempotent_call('link_contacts_to_company', '{"p_company_id": null, "p_contact_ids": []}',
    repeat('8a', 32), 'contacts:write', 'idem-1', '["request-2"]',
    'post', '/v1/companies/{id}/contacts/link', v_at);
  if r ->> 'outcome' <> 'idempotency_key_reused' then
    raise exception 'api_idempotent_call (reused) answered %', r;
  end if;
  r := public.api_idempotent_call('link_contacts_to_company', '{"p_company_id": null, "p_contact_ids": []}',
    repeat('8b', 32), 'contacts:write', 'idem-1', '["request-1"]',
    'post', '/v1/companies/{id}/contacts/link', v_at);
  if r ->> 'outcome' <> 'rate_limited'
     or exists (select 1 from public.idempotency_records where org_id = '0f800000-0000-4000-8000-000000000002') then
    raise exception 'api_idempotent_call (refused) answered % or kept its claim', r;
  end if;
  if public.purge_api_usage(v_at + interval '2 days') <> 1 then
    raise exception 'purge_api_usage deleted another count than 1';
  end if;
  if exists (select 1 from public.idempotency_records) then
    raise exception 'purge_api_usage kept an expired Idempotency-Key record';
  end if;
  perform tap.webhook_workload(v_at);
  perform tap.api_key_workload(v_at);
end;
$$;

-- Every API key function, every path that touches a table: a key created (the org's limit read,
-- every column of a new key inserted), listed, rotated (the old key's expiry cut short, the
-- successor inserted) and revoked.
create function tap.api_key_workload(p_at timestamptz) returns void
language plpgsql
as $$
declare
  v_admin constant text := repeat('8d', 32);
  r jsonb;
  v_id uuid;
begin
  r := public.create_api_key(v_admin, 'wbk_' || repeat('G', 52), 'grants', array['admin:api_keys'],
    'described', p_at + interval '1 day', p_at);
  if r ->> 'outcome' <> 'ok' then raise exception 'create_api_key answered %', r; end if;
  v_id := (r #>> '{data,id}')::uuid;
  r := public.list_api_keys(v_admin, 1, 10, true, 'grant', p_at);
  if r #>> '{data,total}' <> '1' then raise exception 'list_api_keys answered %', r; end if;
  r := public.rotate_api_key(v_admin, v_id, 'wbk_' || repeat('H', 52), 60, p_at);
  if r ->> 'outcome' <> 'ok' then raise exception 'rotate_api_key answered %', r; end if;
  r := public.revoke_api_key(v_admin, v_id, p_at);
  if r ->> 'outcome' <> 'ok' or r #>> '{data,revoked_at}' is null then
    raise exception 'revoke_api_key answered %', r;
  end if;
end;
$$;

-- Every webhook function, every path that touches a table: an endpoint created (the org's limit
-- read), changed in every field, turned off and on; a link writing the event and its delivery;
-- the delivery claimed, failed (the endpoint's streak), retried, failed with 410 and succeeded;
-- the secret rotated; both lists read; the endpoint deleted (its deliveries cancelled); 31 days
-- on, the history purged.
create function tap.webhook_workload(p_at timestamptz) returns void
language plpgsql
as $$
declare
  v_key constant text := repeat('8c', 32);
  v_secret constant text := 'whenc_v1.t.' || repeat('A', 64);
  r jsonb;
  v_endpoint uuid;
  v_delivery uuid;
  v_attempt integer;
begin
  r := public.create_webhook(v_key, 'https://hooks.example.com/grants',
    array['company.contacts_linked'], v_secret, 'grants', true, p_at);
  if r ->> 'outcome' <> 'ok' then raise exception 'create_webhook answered %', r; end if;
  v_endpoint := (r #>> '{data,webhook,id}')::uuid;
  r := public.update_webhook(v_key, v_endpoint, jsonb_build_object(
    'url', 'https://hooks.example.com/moved', 'events', jsonb_build_array('company.contacts_linked',
    'company.contacts_unlinked'), 'description', 'moved', 'active', false), p_at);
  r := public.update_webhook(v_key, v_endpoint, '{"active": true}', p_at);
  if r #>> '{data,webhook,active}' <> 'true' then raise exception 'update_webhook answered %', r; end if;

  -- The contact is at the company already (the workload linked it): unlinking writes the event.
  r := public.unlink_contacts_from_company(v_key, 'c0800000-0000-4000-8000-000000000001',
    array['80000000-0000-4000-8000-000000000001']::uuid[], p_at);
  if r ->> 'outcome' <> 'ok' then raise exception 'unlink answered %', r; end if;

  r := public.claim_webhook_deliveries(10, 60, p_at + interval '1 minute');
  if jsonb_array_length(r) <> 1 then raise exception 'claim answered %', r; end if;
  v_delivery := (r -> 0 ->> 'delivery_id')::uuid;
  v_attempt := (r -> 0 ->> 'attempt')::integer;
  r := public.record_webhook_attempt(v_delivery, v_attempt, 500, 10, 'http_status', 'no',
    null, p_at + interval '1 minute');
  if r ->> 'status' <> 'pending' then raise exception 'record (500) answered %', r; end if;

  r := public.retry_webhook_delivery(v_key, v_endpoint, v_delivery, p_at + interval '2 minutes');
  if r ->> 'outcome' <> 'ok' then raise exception 'retry answered %', r; end if;
  r := public.claim_webhook_deliveries(10, 60, p_at + interval '2 minutes');
  r := public.record_webhook_attempt(v_delivery, v_attempt + 1, 200, 10, null, 'ok', null,
    p_at + interval '2 minutes');
  if r ->> 'status' <> 'succeeded' then raise exception 'record (200) answered %', r; end if;

  r := public.rotate_webhook_secret(v_key, v_endpoint, 'whenc_v1.t.' || repeat('B', 64), p_at);
  if r ->> 'outcome' <> 'ok' then raise exception 'rotate answered %', r; end if;
  r := public.list_webhooks(v_key, 1, 10, p_at);
  if r #>> '{data,total}' <> '1' then raise exception 'list_webhooks answered %', r; end if;
  r := public.list_webhook_deliveries(v_key, v_endpoint, 1, 10, p_at);
  if r #>> '{data,total}' <> '1' then raise exception 'list_webhook_deliveries answered %', r; end if;

  -- 410: the delivery fails, the endpoint is turned off.
  r := public.retry_webhook_delivery(v_key, v_endpoint, v_delivery, p_at + interval '3 minutes');
  r := public.claim_webhook_deliveries(10, 60, p_at + interval '3 minutes');
  r := public.record_webhook_attempt(v_delivery, v_attempt + 2, 410, 10, 'http_status', null, null,
    p_at + interval '3 minutes');
  if r ->> 'status' <> 'failed' then raise exception 'record (410) answered %', r; end if;

  r := public.update_webhook(v_key, v_endpoint, '{"active": true}', p_at);
  r := public.retry_webhook_delivery(v_key, v_endpoint, v_delivery, p_at + interval '4 minutes');
  r := public.delete_webhook(v_key, v_endpoint, p_at);
  if r ->> 'outcome' <> 'ok' then raise exception 'delete_webhook answered %', r; end if;
  if public.purge_webhook_history(p_at + interval '31 days') < 1 then
    raise exception 'purge_webhook_history deleted no attempt';
  end if;
end;
$$;

-- Runs the workload (or p_probe, when given) as service_role with nothing taken away (p_revoke
-- null) or after one revoke; 'ok', or the SQLSTATE it failed with. Everything it did is rolled back.
create function tap.workload_without(p_revoke text, p_probe text default null) returns text
language plpgsql
as $$
declare
  v_prev text := current_setting('role');
  v_outcome text;
begin
  begin
    if p_revoke is not null then
      execute p_revoke;
    end if;
    set local role service_role;
    if p_probe is null then
      perform tap.workload();
    else
      execute p_probe;
    end if;
    raise exception using errcode = 'TAPOK';
  exception
    when sqlstate 'TAPOK' then v_outcome := 'ok';
    when others then v_outcome := sqlstate;
  end;
  perform set_config('role', v_prev, true);
  return v_outcome;
end;
$$;

-- Every privilege service_role holds in public, as the statement that takes it away.
create function tap.service_role_grants() returns table (grant_ text, revoke_ text, probe_ text)
language sql
as $$
  select format('%s on %s', a.privilege_type, c.oid::regclass),
         format('revoke %s on table %s from service_role', a.privilege_type, c.oid::regclass),
         null
  from pg_class c, aclexplode(c.relacl) a
  where c.relnamespace = 'public'::regnamespace and a.grantee = 'service_role'::regrole
  union all
  select format('%s (%s) on %s', a.privilege_type, t.attname, c.oid::regclass),
         format('revoke %s (%I) on table %s from service_role', a.privilege_type, t.attname, c.oid::regclass),
         null
  from pg_class c
  join pg_attribute t on t.attrelid = c.oid and t.attnum > 0 and not t.attisdropped
  cross join aclexplode(t.attacl) a
  where c.relnamespace = 'public'::regnamespace and a.grantee = 'service_role'::regrole
  union all
  -- PUBLIC may use schema public on a stock database; service_role's own grant is for one where it
  -- may not, so both go.
  select format('%s on schema public', a.privilege_type), format('revoke %s on schema public from service_role, public', a.privilege_type),
         null
  from pg_namespace n, aclexplode(n.nspacl) a
  where n.nspname = 'public' and a.grantee = 'service_role'::regrole
  union all
  select format('%s on function %s', a.privilege_type, p.oid::regprocedure),
         format('revoke %s on function %s from service_role', a.privilege_type, p.oid::regprocedure),
         format('select %s.%s(%s)', p.pronamespace::regnamespace, p.proname,
                (select string_agg('null::' || format_type(t, null), ', ') from unnest(p.proargtypes::oid[]) t))
  from pg_proc p, aclexplode(p.proacl) a
  where p.pronamespace in ('public'::regnamespace, 'internal'::regnamespace)
    and a.grantee = 'service_role'::regrole
  union all
  select format('%s on schema internal', a.privilege_type),
         format('revoke %s on schema internal from service_role', a.privilege_type),
         null
  from pg_namespace n, aclexplode(n.nspacl) a
  where n.nspname = 'internal' and a.grantee = 'service_role'::regrole
$$;

select is(tap.workload_without(null), 'ok', 'with all its grants, service_role runs the whole workload');
select is(current_setting('role'), 'none', 'sanity: the workload runner restores the caller''s role');
select set_has(
  $$select grant_ from tap.service_role_grants()$$,
  $$values ('SELECT on api_keys'), ('UPDATE (last_used_at) on api_keys'), ('SELECT (rate_limit_per_minute) on orgs'),
           ('DELETE on api_usage'), ('USAGE on schema public'),
           ('EXECUTE on function purge_api_usage(timestamp with time zone)')$$,
  'sanity: the catalog scan sees table, column, schema and function grants'
);
select is_empty(
  $$select g.grant_ || ' -> ' || w.outcome
    from tap.service_role_grants() g
    cross join lateral (select tap.workload_without(g.revoke_, g.probe_) as outcome) w
    where w.outcome <> '42501'$$,
  'taking away any one grant of service_role makes the workload fail with insufficient_privilege (grants it does not need, or whose loss is not an error, listed)'
);

select * from finish();
rollback;
