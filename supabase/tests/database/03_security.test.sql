-- Security, catalog-wide: every table and function in schema public is covered, including ones
-- added later, without editing this file. Offenders are listed in the failure diagnostics.
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(44);

-- The API roles call pgTAP's functions when an assertion runs under `set local role`.
grant usage on schema tap to anon, authenticated, service_role;

-- tap.try_as(role, statements): switches to the role (set local role), runs each statement and
-- reports each attempt, in order: '42501' (insufficient_privilege, i.e. denied), 'ok' (it ran; undone
-- at once) or the SQLSTATE of any other error (the privilege check passed and something else failed).
create function tap.try_as(p_role name, p_sql text[])
returns table (ord int, outcome text)
language plpgsql
as $fn$
declare
  v_prev text := current_setting('role');
begin
  execute format('set local role %I', p_role);
  for i in 1 .. coalesce(cardinality(p_sql), 0) loop
    ord := i;
    begin
      execute p_sql[i];
      -- It ran: undo it (this block's subtransaction rolls back) and report it.
      raise exception using errcode = 'TAPOK';
    exception
      when sqlstate 'TAPOK' then outcome := 'ok';
      when insufficient_privilege then outcome := '42501';
      when others then outcome := sqlstate;
    end;
    return next;
  end loop;
  perform set_config('role', v_prev, true);
end;
$fn$;

-- tap.privilege_probe(role): tries as the role, for every relation in public, SELECT / INSERT /
-- UPDATE of every column and of the whole row, DELETE and TRUNCATE (outcomes as tap.try_as).
create function tap.privilege_probe(p_role name)
returns table (rel text, col text, action text, outcome text)
language sql
as $fn$
  with rels as (
    select c.oid, c.relname::text as relname, c.relkind
    from pg_class c
    where c.relnamespace = 'public'::regnamespace
      and c.relkind in ('r', 'p', 'v', 'm', 'f')
  ),
  cols as (
    select r.*, a.attname::text as attname
    from rels r
    join pg_attribute a on a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
  ),
  stmts as (
    select relname, null::text as attname, 'select' as action,
           format('select 1 from public.%I where false', relname) as sql
    from rels
    union all
    select relname, attname, 'select', format('select %I from public.%I where false', attname, relname)
    from cols
    union all
    select relname, null, 'insert', format('insert into public.%I default values', relname)
    from rels where relkind <> 'm'
    union all
    select relname, attname, 'insert', format('insert into public.%I (%I) values (default)', relname, attname)
    from cols where relkind <> 'm'
    union all
    select relname, attname, 'update', format('update public.%I set %I = default where false', relname, attname)
    from cols where relkind <> 'm'
    union all
    select relname, null, 'delete', format('delete from public.%I where false', relname)
    from rels where relkind <> 'm'
    union all
    select relname, null, 'truncate', format('truncate public.%I', relname)
    from rels where relkind in ('r', 'p', 'f')
  ),
  numbered as (
    select s.*, row_number() over (order by s.relname, s.action, s.attname nulls first, s.sql)::int as ord
    from stmts s
  )
  select n.relname, n.attname, n.action, t.outcome
  from numbered n
  join tap.try_as(p_role, array(select sql from numbered order by ord)) t on t.ord = n.ord;
$fn$;

-- tap.call_probe(role): calls, as the role, every function in public with null arguments (outcomes
-- as tap.try_as: '42501' means EXECUTE was denied).
create function tap.call_probe(p_role name)
returns table (fn text, outcome text)
language sql
as $fn$
  with calls as (
    select p.oid::regprocedure::text as fn,
           format('select %I.%I(%s)', n.nspname, p.proname,
                  (select coalesce(string_agg('null::' || format_type(a.t, null), ', ' order by a.ord), '')
                   from unnest(p.proargtypes::oid[]) with ordinality as a (t, ord))) as sql
    from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public'
      and p.prokind = 'f'
      and p.prorettype not in ('trigger'::regtype, 'event_trigger'::regtype)
  ),
  numbered as (
    select c.*, row_number() over (order by c.fn)::int as ord from calls c
  )
  select n.fn, t.outcome
  from numbered n
  join tap.try_as(p_role, array(select sql from numbered order by ord)) t on t.ord = n.ord;
$fn$;

-- The catalog scans below must see the project's objects (guards against a vacuous pass) -------------
select set_has(
  $$select relname::text from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r', 'p')$$,
  $$values ('orgs'), ('api_keys'), ('companies'), ('contacts'), ('plans'), ('api_usage')$$,
  'the catalog scan of public sees the six tables'
);
select set_has(
  $$select oid::regprocedure::text from pg_proc where pronamespace = 'public'::regnamespace$$,
  $$values ('api_authorize(text,text,timestamp with time zone)'),
           ('link_contacts_to_company(text,uuid,uuid[],timestamp with time zone)'),
           ('purge_api_usage(timestamp with time zone)')$$,
  'the catalog scan of public sees the three RPCs'
);
select set_has(
  $$select fn from tap.call_probe(current_user)$$,
  $$values ('api_authorize(text,text,timestamp with time zone)'),
           ('link_contacts_to_company(text,uuid,uuid[],timestamp with time zone)'),
           ('purge_api_usage(timestamp with time zone)')$$,
  'probe sanity: the call probe calls the three RPCs'
);
select is_empty(
  $$select fn || ' -> ' || outcome from tap.call_probe(current_user) where outcome = '42501'$$,
  'probe sanity: as the owner no call is denied (so a denied call below really means denied)'
);
select is_empty(
  $$select rel || coalesce('.' || col, '') || ' ' || action || ' -> ' || outcome
    from tap.privilege_probe(current_user) where outcome = '42501'$$,
  'probe sanity: as the owner nothing is denied (so a denied result below really means denied)'
);
select set_has(
  $$select distinct rel from tap.privilege_probe('anon')$$,
  $$values ('orgs'), ('api_keys'), ('companies'), ('contacts'), ('plans'), ('api_usage')$$,
  'probe sanity: the probe attempts statements on the six tables'
);
select is(current_setting('role'), 'none', 'probe sanity: the probe restores the caller''s role');

-- Tables: RLS on, no policy for the API roles ------------------------------------------------------------
select is_empty(
  $$select c.oid::regclass::text
    from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity$$,
  'every table in public has row level security enabled (offenders listed)'
);
select is_empty(
  $$select tablename || ': policy ' || policyname || ' to ' || array_to_string(roles, ',')
    from pg_policies
    where schemaname = 'public' and roles && array['public', 'anon', 'authenticated']::name[]$$,
  'no policy in public applies to public, anon or authenticated (offenders listed)'
);

-- Tables: anon and authenticated can neither read nor write anything, by catalog and by trying -------
select is_empty(
  $$select r.rolname || ' has ' || p.priv || ' on ' || c.oid::regclass
    from pg_class c
    cross join (values ('anon'), ('authenticated'), ('public')) r (rolname)
    cross join (values ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) p (priv)
    where c.relnamespace = 'public'::regnamespace
      and c.relkind in ('r', 'p', 'v', 'm', 'f')
      and (
        has_table_privilege(r.rolname, c.oid, p.priv)
        or (p.priv in ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES') and has_any_column_privilege(r.rolname, c.oid, p.priv))
      )$$,
  'anon, authenticated and PUBLIC hold no table or column privilege on any relation in public (offenders listed)'
);
select is_empty(
  $$select r.rolname || ' has ' || p.priv || ' on sequence ' || c.oid::regclass
    from pg_class c
    cross join (values ('anon'), ('authenticated'), ('public'), ('service_role')) r (rolname)
    cross join (values ('USAGE'), ('SELECT'), ('UPDATE')) p (priv)
    where c.relnamespace = 'public'::regnamespace and c.relkind = 'S'
      and has_sequence_privilege(r.rolname, c.oid, p.priv)$$,
  'no API role and not PUBLIC holds a privilege on any sequence in public (offenders listed)'
);
select is_empty(
  $$select c.oid::regclass || ' grants ' || a.privilege_type || ' to PUBLIC'
    from pg_class c, aclexplode(c.relacl) a
    where c.relnamespace = 'public'::regnamespace and a.grantee = 0
    union all
    select c.oid::regclass || '.' || t.attname || ' grants ' || a.privilege_type || ' to PUBLIC'
    from pg_class c
    join pg_attribute t on t.attrelid = c.oid and t.attnum > 0 and not t.attisdropped
    cross join aclexplode(t.attacl) a
    where c.relnamespace = 'public'::regnamespace and a.grantee = 0$$,
  'no relation or column in public grants anything to PUBLIC (offenders listed)'
);
select is_empty(
  $$select action || ' ' || rel || coalesce('.' || col, '') || ' -> ' || outcome
    from tap.privilege_probe('anon') where outcome <> '42501'$$,
  'as anon, every select / insert / update / delete / truncate on every relation in public is denied (statements that were not denied listed)'
);
select is_empty(
  $$select action || ' ' || rel || coalesce('.' || col, '') || ' -> ' || outcome
    from tap.privilege_probe('authenticated') where outcome <> '42501'$$,
  'as authenticated, every select / insert / update / delete / truncate on every relation in public is denied (statements that were not denied listed)'
);

-- Tables: service_role holds exactly what the RPCs need ------------------------------------------------
select set_eq(
  $$select c.relname::text, p.priv
    from pg_class c
    cross join (values ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) p (priv)
    where c.relnamespace = 'public'::regnamespace
      and c.relkind in ('r', 'p', 'v', 'm', 'f')
      and has_table_privilege('service_role', c.oid, p.priv)$$,
  $$values ('api_keys', 'SELECT'), ('companies', 'SELECT'), ('contacts', 'SELECT'), ('plans', 'SELECT'),
           ('api_usage', 'SELECT'), ('api_usage', 'INSERT'), ('api_usage', 'UPDATE'), ('api_usage', 'DELETE'),
           ('idempotency_records', 'SELECT'), ('idempotency_records', 'INSERT'),
           ('idempotency_records', 'DELETE'),
           ('webhook_endpoints', 'SELECT'), ('webhook_endpoints', 'DELETE'),
           ('webhook_events', 'SELECT'), ('webhook_events', 'DELETE'),
           ('webhook_deliveries', 'SELECT'), ('webhook_deliveries', 'DELETE'),
           ('webhook_attempts', 'SELECT'), ('webhook_attempts', 'DELETE')$$,
  'service_role''s table-level privileges in public are exactly SELECT on api_keys, companies, contacts and plans, SELECT / INSERT / UPDATE / DELETE on api_usage, SELECT / INSERT / DELETE on idempotency_records, and SELECT / DELETE on the four webhook tables'
);
select set_eq(
  $$select c.relname::text, t.attname::text, p.priv
    from pg_class c
    join pg_attribute t on t.attrelid = c.oid and t.attnum > 0 and not t.attisdropped
    cross join (values ('SELECT'), ('INSERT'), ('UPDATE'), ('REFERENCES')) p (priv)
    where c.relnamespace = 'public'::regnamespace
      and c.relkind in ('r', 'p', 'v', 'm', 'f')
      and has_column_privilege('service_role', c.oid, t.attnum, p.priv)
      and not has_table_privilege('service_role', c.oid, p.priv)$$,
  $$values ('api_keys', 'last_used_at', 'UPDATE'),
           ('api_keys', 'revoked_at', 'UPDATE'),
           ('api_keys', 'expires_at', 'UPDATE'),
           ('orgs', 'max_api_keys', 'SELECT'),
           ('contacts', 'company_id', 'UPDATE'),
           ('contacts', 'updated_at', 'UPDATE'),
           ('companies', 'updated_at', 'UPDATE'),
           ('orgs', 'id', 'SELECT'),
           ('orgs', 'plan', 'SELECT'),
           ('orgs', 'rate_limit_per_day', 'SELECT'),
           ('orgs', 'rate_limit_per_minute', 'SELECT'),
           ('orgs', 'max_webhook_endpoints', 'SELECT')
    union all
    select 'api_keys', c, 'INSERT'
      from unnest(array['org_id', 'name', 'description', 'key_hash', 'prefix', 'permissions',
                        'expires_at', 'created_at']) c
    union all
    select 'webhook_endpoints', c, 'INSERT'
      from unnest(array['org_id', 'url', 'events', 'description', 'active', 'secret']) c
    union all
    select 'webhook_endpoints', c, 'UPDATE'
      from unnest(array['url', 'events', 'description', 'active', 'secret', 'previous_secret',
                        'previous_secret_expires_at', 'disabled_reason', 'failing_since',
                        'last_delivery_status', 'last_delivery_at', 'updated_at', 'deleted_at']) c
    union all
    select 'webhook_events', c, 'INSERT' from unnest(array['org_id', 'type', 'body']) c
    union all
    select 'webhook_deliveries', c, 'INSERT' from unnest(array['org_id', 'event_id', 'endpoint_id']) c
    union all
    select 'webhook_deliveries', c, 'UPDATE'
      from unnest(array['status', 'attempts', 'next_attempt_at', 'locked_until', 'last_attempt_at',
                        'updated_at', 'manual_retries', 'manual_retries_since']) c
    union all
    select 'webhook_attempts', c, 'INSERT'
      from unnest(array['org_id', 'delivery_id', 'attempt', 'attempted_at', 'status_code',
                        'duration_ms', 'error_class', 'response_prefix']) c$$,
  'service_role''s column-level privileges are exactly UPDATE on api_keys.last_used_at, revoked_at, expires_at, contacts.company_id, contacts.updated_at, companies.updated_at; INSERT of a new key''s columns; SELECT on orgs.id, plan, rate_limit_per_day, rate_limit_per_minute, max_webhook_endpoints, max_api_keys; and the webhook columns its functions write'
);
select ok(
  not has_any_column_privilege('service_role', 'public.orgs', 'INSERT, UPDATE, REFERENCES')
  and not has_table_privilege('service_role', 'public.orgs', 'SELECT, DELETE, TRUNCATE, TRIGGER')
  and not has_column_privilege('service_role', 'public.orgs', 'name', 'SELECT')
  and not has_column_privilege('service_role', 'public.orgs', 'created_at', 'SELECT'),
  'of orgs, service_role may read the columns its functions need (the plan, the limits) and nothing else, and write nothing'
);
select ok(
  has_schema_privilege('service_role', 'public', 'USAGE'),
  'service_role has USAGE on schema public'
);
select set_eq(
  $$select action, rel, col, outcome from tap.privilege_probe('service_role')
    where outcome <> '42501' and rel not like 'webhook\_%'$$,
  $$select 'select' as action, c.relname::text as rel, null::text as col, 'ok' as outcome
      from pg_class c
      where c.oid in ('public.api_keys'::regclass, 'public.companies'::regclass, 'public.contacts'::regclass,
                      'public.plans'::regclass, 'public.api_usage'::regclass, 'public.orgs'::regclass,
                      'public.idempotency_records'::regclass)
    union all
    select 'select', c.relname::text, t.attname::text, 'ok'
      from pg_class c join pg_attribute t on t.attrelid = c.oid and t.attnum > 0 and not t.attisdropped
      where c.oid in ('public.api_keys'::regclass, 'public.companies'::regclass, 'public.contacts'::regclass,
                      'public.plans'::regclass, 'public.api_usage'::regclass,
                      'public.idempotency_records'::regclass)
    union all
    select 'update', 'api_usage', t.attname::text, 'ok'
      from pg_attribute t where t.attrelid = 'public.api_usage'::regclass and t.attnum > 0 and not t.attisdropped
    union all
    -- Allowed, then refused by a not-null column: the probe inserts defaults only.
    select 'insert', c.relname::text, t.attname::text, '23502'
      from pg_class c join pg_attribute t on t.attrelid = c.oid and t.attnum > 0 and not t.attisdropped
      where c.oid in ('public.api_usage'::regclass, 'public.idempotency_records'::regclass)
    union all
    values ('insert', 'api_usage', null, '23502'),
           ('delete', 'api_usage', null, 'ok'),
           ('insert', 'idempotency_records', null, '23502'),
           ('delete', 'idempotency_records', null, 'ok'),
           ('select', 'orgs', 'id', 'ok'),
           ('select', 'orgs', 'plan', 'ok'),
           ('select', 'orgs', 'rate_limit_per_day', 'ok'),
           ('select', 'orgs', 'rate_limit_per_minute', 'ok'),
           ('select', 'orgs', 'max_webhook_endpoints', 'ok'),
           ('select', 'orgs', 'max_api_keys', 'ok'),
           ('update', 'api_keys', 'last_used_at', 'ok'),
           ('update', 'api_keys', 'revoked_at', 'ok'),
           ('update', 'api_keys', 'expires_at', 'ok'),
           -- Allowed, then refused by a not-null column (the key's hash has no default).
           ('insert', 'api_keys', null, '23502'),
           ('insert', 'api_keys', 'org_id', '23502'),
           ('insert', 'api_keys', 'name', '23502'),
           ('insert', 'api_keys', 'description', '23502'),
           ('insert', 'api_keys', 'key_hash', '23502'),
           ('insert', 'api_keys', 'prefix', '23502'),
           ('insert', 'api_keys', 'permissions', '23502'),
           ('insert', 'api_keys', 'expires_at', '23502'),
           ('insert', 'api_keys', 'created_at', '23502'),
           ('update', 'contacts', 'company_id', 'ok'),
           ('update', 'contacts', 'updated_at', 'ok'),
           ('update', 'companies', 'updated_at', 'ok')$$,
  'as service_role, exactly the selects on api_keys / companies / contacts / plans / api_usage and orgs'' columns, the six column updates, a new key''s inserts and insert / update / delete on api_usage, insert / delete on idempotency_records are allowed; every other statement is denied'
);
select set_eq(
  $$select distinct action, rel, col from tap.privilege_probe('service_role')
    where outcome <> '42501' and rel like 'webhook\_%'$$,
  $$select a.action, c.relname::text as rel, null::text as col
      from pg_class c cross join (values ('select'), ('delete'), ('insert')) a (action)
      where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and c.relname like 'webhook\_%'
    union all
    select 'select', c.relname::text, t.attname::text
      from pg_class c join pg_attribute t on t.attrelid = c.oid and t.attnum > 0 and not t.attisdropped
      where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and c.relname like 'webhook\_%'
    union all
    select lower(g.privilege_type), g.table_name::text, g.column_name::text
      from information_schema.column_privileges g
      where g.grantee = 'service_role' and g.table_schema = 'public' and g.table_name like 'webhook\_%'
        and g.privilege_type in ('INSERT', 'UPDATE')$$,
  'as service_role, on the webhook tables exactly the selects, the deletes, and the inserts and updates of the granted columns are allowed (an insert of defaults only reaches the constraints)'
);

set local role service_role;
select throws_ok($$select name from public.orgs$$, '42501', null, 'service_role cannot read org names');
select throws_ok($$select * from public.orgs$$, '42501', null, 'service_role cannot select whole org rows');
select throws_ok($$update public.orgs set rate_limit_per_minute = null where false$$, '42501', null, 'service_role cannot change an org''s rate limit overrides');
select throws_ok($$update public.orgs set plan = plan where false$$, '42501', null, 'service_role cannot change an org''s plan');
select throws_ok($$update public.plans set requests_per_day = requests_per_day where false$$, '42501', null, 'service_role cannot change a plan''s limits');
select throws_ok($$insert into public.plans (name, requests_per_day, requests_per_minute) values ('x', 1, 1)$$, '42501', null, 'service_role cannot create plans');
select throws_ok($$truncate public.api_usage$$, '42501', null, 'service_role cannot truncate api_usage');
select throws_ok($$insert into public.api_keys (org_id, key_hash, last_used_at) values (gen_random_uuid(), repeat('a', 64), now())$$, '42501', null, 'service_role cannot insert a key with a last use (or any column beyond a new key''s)');
select throws_ok($$update public.api_keys set key_hash = key_hash, permissions = permissions where false$$, '42501', null, 'service_role cannot change a key''s hash or permissions');
select throws_ok($$update public.companies set name = name where false$$, '42501', null, 'service_role cannot rename companies');
select throws_ok($$update public.contacts set org_id = org_id where false$$, '42501', null, 'service_role cannot move contacts between orgs');
select throws_ok($$delete from public.contacts where false$$, '42501', null, 'service_role cannot delete contacts');
reset role;

-- Functions: only service_role (and the owner) may execute; security invoker; search_path pinned ----
select is_empty(
  $$select r.rolname || ' can execute ' || p.oid::regprocedure
    from pg_proc p
    cross join (values ('anon'), ('authenticated'), ('public')) r (rolname)
    where p.pronamespace in ('public'::regnamespace, 'internal'::regnamespace)
      and has_function_privilege(r.rolname, p.oid, 'EXECUTE')$$,
  'no function in public or internal is executable by anon, authenticated or PUBLIC (offenders listed)'
);
select is_empty(
  $$select p.oid::regprocedure || ' is executable by '
           || case a.grantee when 0 then 'PUBLIC' else a.grantee::regrole::text end
    from pg_proc p
    cross join aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
    where p.pronamespace in ('public'::regnamespace, 'internal'::regnamespace)
      and a.privilege_type = 'EXECUTE'
      and a.grantee not in (p.proowner, 'service_role'::regrole)$$,
  'the EXECUTE grants of every function in public or internal name only its owner and service_role (offenders listed)'
);
select is_empty(
  $$select p.oid::regprocedure::text
    from pg_proc p
    where p.pronamespace = 'public'::regnamespace
      and p.prorettype not in ('trigger'::regtype, 'event_trigger'::regtype)
      and not has_function_privilege('service_role', p.oid, 'EXECUTE')$$,
  'service_role can execute every RPC in public (offenders listed)'
);
select is_empty(
  $$select p.oid::regprocedure::text from pg_proc p
    where p.pronamespace in ('public'::regnamespace, 'internal'::regnamespace) and p.prosecdef$$,
  'every function in public and internal is security invoker (security definer offenders listed)'
);
select is_empty(
  $$select p.oid::regprocedure || ' proconfig=' || coalesce(p.proconfig::text, 'null')
    from pg_proc p
    where p.pronamespace in ('public'::regnamespace, 'internal'::regnamespace)
      and not coalesce('search_path=""' = any (p.proconfig), false)$$,
  'every function in public and internal pins search_path="" (offenders listed with their proconfig)'
);

-- Tenancy in depth: a function that trusts an org id given as an argument is not reachable through
-- PostgREST (which exposes public and graphql_public: supabase/config.toml); it lives in internal,
-- a schema no client role may use, and only the endpoint functions (which take the org from the
-- key) call it.
select is_empty(
  $$select p.oid::regprocedure::text
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('public', 'graphql_public') and 'p_org_id' = any (p.proargnames)$$,
  'no function in an exposed schema takes an org id (p_org_id): those live in internal (offenders listed)'
);
select ok(
  exists (select 1 from pg_proc p where p.pronamespace = 'internal'::regnamespace
          and 'p_org_id' = any (p.proargnames)),
  'the functions that take an org id are there, in internal'
);
select is_empty(
  $$select r.rolname from (values ('anon'), ('authenticated'), ('public')) r (rolname)
    where has_schema_privilege(r.rolname, 'internal', 'USAGE')$$,
  'no client role may use schema internal (offenders listed)'
);

select is_empty(
  $$select fn || ' -> ' || outcome from tap.call_probe('anon') where outcome <> '42501'$$,
  'as anon, calling any function in public is denied (calls that were not denied listed)'
);
select is_empty(
  $$select fn || ' -> ' || outcome from tap.call_probe('authenticated') where outcome <> '42501'$$,
  'as authenticated, calling any function in public is denied (calls that were not denied listed)'
);
select is_empty(
  $$select fn || ' -> ' || outcome from tap.call_probe('service_role') where outcome <> 'ok'$$,
  'as service_role, every function in public runs with null arguments, nothing inside it denied (failures listed)'
);
select is(current_setting('role'), 'none', 'probe sanity: the call probe restores the caller''s role');

select * from finish();
rollback;
