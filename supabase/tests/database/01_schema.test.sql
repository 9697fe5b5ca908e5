-- Schema shape: the tables, columns, types, keys and defaults that DESIGN.md names as the contract
-- ("names are part of the contract; tests outside the repo rely on them").
begin;
create schema if not exists tap;
create extension if not exists pgtap with schema tap;
set local search_path = tap, public;

select plan(100);

-- Tables -------------------------------------------------------------------------------------------
select has_table('public', 'orgs', 'table public.orgs exists');
select has_table('public', 'api_keys', 'table public.api_keys exists');
select has_table('public', 'companies', 'table public.companies exists');
select has_table('public', 'contacts', 'table public.contacts exists');
select has_table('public', 'plans', 'table public.plans exists');
select has_table('public', 'api_usage', 'table public.api_usage exists');

-- Columns and types (DESIGN.md "Data model") -------------------------------------------------------
select col_type_is('public', 'orgs', 'id', 'uuid', 'orgs.id is uuid');
select col_type_is('public', 'orgs', 'name', 'text', 'orgs.name is text');
select col_type_is('public', 'orgs', 'plan', 'text', 'orgs.plan is text');
select col_type_is('public', 'orgs', 'created_at', 'timestamp with time zone', 'orgs.created_at is timestamptz');
select col_type_is('public', 'orgs', 'rate_limit_per_day', 'integer', 'orgs.rate_limit_per_day is integer');
select col_type_is('public', 'orgs', 'rate_limit_per_minute', 'integer', 'orgs.rate_limit_per_minute is integer');

select col_type_is('public', 'plans', 'name', 'text', 'plans.name is text');
select col_type_is('public', 'plans', 'requests_per_day', 'integer', 'plans.requests_per_day is integer');
select col_type_is('public', 'plans', 'requests_per_minute', 'integer', 'plans.requests_per_minute is integer');

select col_type_is('public', 'api_keys', 'id', 'uuid', 'api_keys.id is uuid');
select col_type_is('public', 'api_keys', 'org_id', 'uuid', 'api_keys.org_id is uuid');
select col_type_is('public', 'api_keys', 'name', 'text', 'api_keys.name is text');
select col_type_is('public', 'api_keys', 'key_hash', 'text', 'api_keys.key_hash is text');
select col_type_is('public', 'api_keys', 'prefix', 'text', 'api_keys.prefix is text');
select col_type_is('public', 'api_keys', 'permissions', 'text[]', 'api_keys.permissions is text[]');
select col_type_is('public', 'api_keys', 'expires_at', 'timestamp with time zone', 'api_keys.expires_at is timestamptz');
select col_type_is('public', 'api_keys', 'revoked_at', 'timestamp with time zone', 'api_keys.revoked_at is timestamptz');
select col_type_is('public', 'api_keys', 'last_used_at', 'timestamp with time zone', 'api_keys.last_used_at is timestamptz');
select col_type_is('public', 'api_keys', 'created_at', 'timestamp with time zone', 'api_keys.created_at is timestamptz');

select col_type_is('public', 'companies', 'id', 'uuid', 'companies.id is uuid');
select col_type_is('public', 'companies', 'org_id', 'uuid', 'companies.org_id is uuid');
select col_type_is('public', 'companies', 'name', 'text', 'companies.name is text');
select col_type_is('public', 'companies', 'domain', 'text', 'companies.domain is text');
select col_type_is('public', 'companies', 'created_at', 'timestamp with time zone', 'companies.created_at is timestamptz');
select col_type_is('public', 'companies', 'updated_at', 'timestamp with time zone', 'companies.updated_at is timestamptz');

select col_type_is('public', 'contacts', 'id', 'uuid', 'contacts.id is uuid');
select col_type_is('public', 'contacts', 'org_id', 'uuid', 'contacts.org_id is uuid');
select col_type_is('public', 'contacts', 'company_id', 'uuid', 'contacts.company_id is uuid');
select col_type_is('public', 'contacts', 'full_name', 'text', 'contacts.full_name is text');
select col_type_is('public', 'contacts', 'email', 'text', 'contacts.email is text');
select col_type_is('public', 'contacts', 'created_at', 'timestamp with time zone', 'contacts.created_at is timestamptz');
select col_type_is('public', 'contacts', 'updated_at', 'timestamp with time zone', 'contacts.updated_at is timestamptz');

-- api_usage is the implementation's own table (DESIGN.md: "usage counters ... are the
-- implementation's own table"), checked here because api_authorize and the retention function
-- depend on its shape.
select columns_are('public', 'api_usage',
  array['org_id', 'day', 'slot', 'day_used', 'minute', 'minute_used', 'day_quota', 'minute_quota', 'day_limit', 'minute_limit'],
  'api_usage has exactly org_id, day, slot, the two windows'' counts (day_used, minute, minute_used), quotas and the limits they were split from');
select col_type_is('public', 'api_usage', 'slot', 'smallint', 'api_usage.slot is smallint');
select col_type_is('public', 'api_usage', 'org_id', 'uuid', 'api_usage.org_id is uuid');
select col_type_is('public', 'api_usage', 'day', 'date', 'api_usage.day is date (the UTC day)');
select col_type_is('public', 'api_usage', 'day_used', 'integer', 'api_usage.day_used is integer');
select col_type_is('public', 'api_usage', 'minute', 'timestamp with time zone', 'api_usage.minute is timestamptz');
select col_type_is('public', 'api_usage', 'minute_used', 'integer', 'api_usage.minute_used is integer');

-- Primary keys and id defaults ---------------------------------------------------------------------
select col_is_pk('public', 'orgs', 'id', 'orgs.id is the primary key');
select col_is_pk('public', 'api_keys', 'id', 'api_keys.id is the primary key');
select col_is_pk('public', 'companies', 'id', 'companies.id is the primary key');
select col_is_pk('public', 'contacts', 'id', 'contacts.id is the primary key');
select col_is_pk('public', 'plans', 'name', 'plans.name is the primary key');
select col_is_pk('public', 'api_usage', array['org_id', 'day', 'slot'], 'api_usage has a row per org, day and slot: primary key (org_id, day, slot)');

select col_default_is('public', 'orgs', 'id', 'gen_random_uuid()', 'orgs.id defaults to gen_random_uuid()');
select col_default_is('public', 'api_keys', 'id', 'gen_random_uuid()', 'api_keys.id defaults to gen_random_uuid()');
select col_default_is('public', 'companies', 'id', 'gen_random_uuid()', 'companies.id defaults to gen_random_uuid()');
select col_default_is('public', 'contacts', 'id', 'gen_random_uuid()', 'contacts.id defaults to gen_random_uuid()');

-- Timestamp defaults -------------------------------------------------------------------------------
select col_default_is('public', 'orgs', 'created_at', 'now()', 'orgs.created_at defaults to now()');
select col_default_is('public', 'api_keys', 'created_at', 'now()', 'api_keys.created_at defaults to now()');
select col_default_is('public', 'companies', 'created_at', 'now()', 'companies.created_at defaults to now()');
select col_default_is('public', 'companies', 'updated_at', 'now()', 'companies.updated_at defaults to now()');
select col_default_is('public', 'contacts', 'created_at', 'now()', 'contacts.created_at defaults to now()');
select col_default_is('public', 'contacts', 'updated_at', 'now()', 'contacts.updated_at defaults to now()');

-- orgs.plan and the plans --------------------------------------------------------------------------
select col_not_null('public', 'orgs', 'plan', 'orgs.plan is not null');
select col_default_is('public', 'orgs', 'plan', 'starter'::text, 'orgs.plan defaults to ''starter''');
select fk_ok('public', 'orgs', array['plan'], 'public', 'plans', array['name'], 'orgs.plan references plans(name)');
select is(
  (select string_agg(k.conname || ': ' || pg_get_constraintdef(k.oid), '; ' order by k.conname)
   from pg_constraint k
   where k.conrelid = 'public.orgs'::regclass
     and k.conkey && array[(select attnum from pg_attribute where attrelid = 'public.orgs'::regclass and attname = 'plan')]::int2[]
     and k.contype in ('c', 'f')),
  'orgs_plan_fkey: FOREIGN KEY (plan) REFERENCES plans(name) ON UPDATE CASCADE',
  'orgs.plan is constrained by orgs_plan_fkey alone'
);
select columns_are('public', 'plans', array['name', 'requests_per_day', 'requests_per_minute'],
  'plans has exactly name, requests_per_day, requests_per_minute');
select col_not_null('public', 'plans', 'requests_per_day', 'plans.requests_per_day is not null');
select col_not_null('public', 'plans', 'requests_per_minute', 'plans.requests_per_minute is not null');
select results_eq(
  $$select name, requests_per_day, requests_per_minute from public.plans order by requests_per_day$$,
  $$values ('starter'::text, 100, 10), ('pro', 1000, 50), ('org', 10000, 200)$$,
  'the migration wrote the three plans: starter 100/10, pro 1000/50, org 10000/200 (a day / a minute)'
);

-- Per-org overrides: nullable (null = the plan's), no default --------------------------------------
select col_is_null('public', 'orgs', 'rate_limit_per_day', 'orgs.rate_limit_per_day is nullable');
select col_is_null('public', 'orgs', 'rate_limit_per_minute', 'orgs.rate_limit_per_minute is nullable');
select col_hasnt_default('public', 'orgs', 'rate_limit_per_day', 'orgs.rate_limit_per_day has no default (null: the plan''s)');
select col_hasnt_default('public', 'orgs', 'rate_limit_per_minute', 'orgs.rate_limit_per_minute has no default (null: the plan''s)');

-- api_usage -----------------------------------------------------------------------------------------
select col_not_null('public', 'api_usage', 'day_used', 'api_usage.day_used is not null');
select col_not_null('public', 'api_usage', 'minute', 'api_usage.minute is not null');
select col_not_null('public', 'api_usage', 'minute_used', 'api_usage.minute_used is not null');
select results_eq(
  $$select c.column_name::text collate "default", c.is_nullable::text collate "default",
           c.column_default::text collate "default"
    from information_schema.columns c
    where c.table_schema = 'public' and c.table_name = 'api_usage'
      and c.column_name in ('slot', 'day_quota', 'minute_quota', 'day_limit', 'minute_limit') order by c.ordinal_position$$,
  $$values ('slot', 'NO', '0'), ('day_quota', 'NO', '0'), ('minute_quota', 'NO', '0'), ('day_limit', 'NO', '0'), ('minute_limit', 'NO', '0')$$,
  'slot and the quota columns are not null and default to 0 (a row written without quotas is only counted in under the lock of all slots)'
);
select throws_ok(
  $$with o as (insert into public.orgs (name) values ('Slots') returning id)
    insert into public.api_usage (org_id, day, slot, day_used, minute, minute_used)
    select o.id, '2030-01-01', 16, 0, '2030-01-01', 0 from o$$,
  '23514', null, 'an org''s day has 16 slots, 0 to 15'
);
select fk_ok('public', 'api_usage', array['org_id'], 'public', 'orgs', array['id'], 'api_usage.org_id references orgs(id)');
select is(
  (select confdeltype from pg_constraint
   where conrelid = 'public.api_usage'::regclass and confrelid = 'public.orgs'::regclass and contype = 'f'),
  'c'::"char",
  'api_usage rows go with their org (on delete cascade)'
);
select has_index('public', 'api_usage', 'api_usage_day_idx', array['day'], 'api_usage is indexed by day, for the retention function''s range delete');

-- The RPCs ------------------------------------------------------------------------------------------
select has_function('public', 'api_authorize', array['text', 'text', 'timestamp with time zone'], 'api_authorize(text, text, timestamptz) exists');
select has_function('public', 'link_contacts_to_company', array['text', 'uuid', 'uuid[]', 'timestamp with time zone'], 'link_contacts_to_company(text, uuid, uuid[], timestamptz) exists');
select has_function('public', 'purge_api_usage', array['timestamp with time zone'], 'purge_api_usage(timestamptz) exists');
select is(
  (select array_agg(oid::regprocedure::text) from pg_proc
   where pronamespace = 'public'::regnamespace and proname = 'link_contacts_to_company'),
  array['link_contacts_to_company(text,uuid,uuid[],timestamp with time zone)'],
  'link_contacts_to_company has one signature only'
);

-- Tenancy: every row belongs to one org -----------------------------------------------------------
select col_not_null('public', 'api_keys', 'org_id', 'api_keys.org_id is not null');
select col_not_null('public', 'companies', 'org_id', 'companies.org_id is not null');
select col_not_null('public', 'contacts', 'org_id', 'contacts.org_id is not null');
select fk_ok('public', 'api_keys', array['org_id'], 'public', 'orgs', array['id'], 'api_keys.org_id references orgs(id)');
select fk_ok('public', 'companies', array['org_id'], 'public', 'orgs', array['id'], 'companies.org_id references orgs(id)');
select fk_ok('public', 'contacts', array['org_id'], 'public', 'orgs', array['id'], 'contacts.org_id references orgs(id)');

-- api_keys.key_hash --------------------------------------------------------------------------------
select col_not_null('public', 'api_keys', 'key_hash', 'api_keys.key_hash is not null');
select col_is_unique('public', 'api_keys', array['key_hash'], 'api_keys.key_hash is unique');

-- companies (org_id, id) and the contacts' composite foreign key -----------------------------------
select col_is_unique('public', 'companies', array['org_id', 'id'], 'companies has a unique (org_id, id)');
select fk_ok(
  'public', 'contacts', array['org_id', 'company_id'],
  'public', 'companies', array['org_id', 'id'],
  'contacts(org_id, company_id) references companies(org_id, id)'
);

-- The composite foreign key must be: on delete set null (company_id) only (org_id is not null and
-- must stay), and must be checked for every row that has a company (MATCH SIMPLE is enough because
-- org_id is not null).
select is(
  (
    select count(*)
    from pg_constraint k
    where k.contype = 'f'
      and k.conrelid = 'public.contacts'::regclass
      and k.confrelid = 'public.companies'::regclass
      and k.conkey = array[
        (select attnum from pg_attribute where attrelid = 'public.contacts'::regclass and attname = 'org_id'),
        (select attnum from pg_attribute where attrelid = 'public.contacts'::regclass and attname = 'company_id')
      ]::int2[]
      and k.confdeltype = 'n'
      and k.confdelsetcols = array[
        (select attnum from pg_attribute where attrelid = 'public.contacts'::regclass and attname = 'company_id')
      ]::int2[]
  ),
  1::bigint,
  'contacts(org_id, company_id) -> companies(org_id, id) is on delete set null (company_id)'
);
select is(
  (
    select string_agg(pg_get_constraintdef(k.oid), '; ')
    from pg_constraint k
    where k.contype = 'f'
      and k.conrelid = 'public.contacts'::regclass
      and k.confrelid = 'public.companies'::regclass
  ),
  'FOREIGN KEY (org_id, company_id) REFERENCES companies(org_id, id) ON DELETE SET NULL (company_id)',
  'contacts has exactly one foreign key to companies, the composite one'
);
select col_is_null('public', 'contacts', 'company_id', 'contacts.company_id is nullable (a contact may have no company)');

-- A contact with no company is allowed; nothing else may reference companies(id) alone, which
-- would let a contact point across orgs.
select is_empty(
  $$
    select k.conrelid::regclass::text || ': ' || pg_get_constraintdef(k.oid)
    from pg_constraint k
    where k.contype = 'f'
      and k.confrelid = 'public.companies'::regclass
      and not (
        k.confkey @> array[(select attnum from pg_attribute where attrelid = 'public.companies'::regclass and attname = 'org_id')]::int2[]
      )
  $$,
  'every foreign key to companies includes org_id (no cross-org reference possible)'
);

-- Indexes: the composite FK and the org lookups are indexed ------------------------------------------
select is_empty(
  $$
    select k.conrelid::regclass::text || ' ' || pg_get_constraintdef(k.oid)
    from pg_constraint k
    where k.contype = 'f'
      and k.connamespace = 'public'::regnamespace
      and not exists (
        select 1 from pg_index i
        where i.indrelid = k.conrelid
          and (i.indkey::int2[])[0:cardinality(k.conkey) - 1] @> k.conkey
          and (i.indkey::int2[])[0:cardinality(k.conkey) - 1] <@ k.conkey
      )
  $$,
  'every foreign key in public has an index leading with its columns'
);

select * from finish();
rollback;
