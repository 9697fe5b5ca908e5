-- Idempotency-Key through the endpoint's own Idempotency-Key form: public.<fn>_idempotent, one per
-- endpoint function, generated from the catalog. It takes the endpoint function's own arguments,
-- typed and by name as the function does (and as PostgREST passes them), plus the header's
-- (p_permission, p_idempotency_key, p_request, p_method, p_path), and does what
-- api_idempotent_call does (the steps, the claim and its bounded wait, the record, its sealing:
-- 20261206006100 and 20261206007000 say what and why), with the endpoint function called by one
-- static statement of its own. The gateway calls it; still one call a request.
--
-- Why: what api_idempotent_call does besides the record is read its arguments from one jsonb
-- (parsed from the call's text, a case over every endpoint to find the branch, a composite type
-- filled by jsonb_populate_record: each re-initialised in every transaction), work the call
-- without the header does not do. Measured on the link at batch 10, `deno task bench
-- --idempotency`, alternating builds, seven runs each: 0.90, 0.85, 0.88, 0.87, 0.87, 0.94, 0.84
-- through api_idempotent_call (mean 0.88); 0.93, 0.80, 0.94, 0.95 through a prototype of this form,
-- then 0.90, 0.87, 0.92 through this one (mean 0.90; the gateway's canonical JSON made cheaper
-- too). In instructions (callgrind, as 20261206007000 measured, the arguments sent as text as the
-- gateway sends them): the link alone 3.42 M a call, through api_idempotent_call 3.78 M, through
-- the prototype 3.75 M. The runs moved by more than the instructions did (what a transaction runs
-- once runs cold), and by less than one run's spread: a few hundredths, on the line still.
--
-- Nothing is written by hand per endpoint: internal.build_dispatch_endpoint() now also makes (and
-- remakes, and drops with its function) each endpoint function's form. Its arguments are
-- pg_get_function_arguments of the endpoint function, defaults included, so an argument left out
-- takes the default the endpoint function declares; the call passes every argument by name. A
-- migration that adds or changes an endpoint function still ends with
--   select internal.build_dispatch_endpoint();
-- and the database tests check that what is in place is what a build makes now. An endpoint
-- function is one of schema public returning jsonb and taking p_key_hash, not named api_*
-- (api_authorize and api_idempotent_call are the gateway's own); a read gets its form too, which
-- the gateway never calls (a GET ignores the header), so that the rule is one. One that cannot
-- have a form (overloaded, OUT or VARIADIC arguments, a name over 52 characters, an argument named
-- as one of the header's) makes the build fail, naming it: the gateway would call a form that is
-- not there (and the gateway refuses a route whose arguments name the header's: KIT_ARGUMENTS).
--
-- public.api_idempotent_call stays, unchanged in what it answers, for gateways deployed before
-- this migration: its body is the forms' with its own guard of p_args and its dispatch.

-- The body of every Idempotency-Key function: `p_guard`, plpgsql that checks the function's own
-- arguments before anything is done (api_idempotent_call's p_args; empty for a form), and
-- `p_work`, plpgsql that sets v_result to the endpoint function's result, each in its place.
create function internal.idempotent_call_source(p_guard text, p_work text)
returns text
language sql
immutable
security invoker
set search_path = ''
as $template$
  select pg_catalog.replace(pg_catalog.replace($body$
declare
  v_now constant timestamptz := coalesce(p_now, now());
  v_org uuid;
  v_auth jsonb;
  v_result jsonb;
  v_record record;
  v_value bytea;
  v_hash bytea;
  v_okm bytea;
  v_fingerprint bytea;
  v_iv bytea;
  v_sealed bytea;
  v_tag bytea;
  v_aes_key bytea;
  v_expired boolean;
begin
  -- 1. The org: only a key that may make this request can hold records.
  select k.org_id into v_org
  from public.api_keys k
  where k.key_hash = p_key_hash
    and (k.revoked_at is null or k.revoked_at > v_now)
    and (k.expires_at is null or k.expires_at > v_now)
    and p_permission = any (k.permissions);
  if not found then
    -- What the endpoint function would answer first, and all it would do: 401 or 403.
    return public.api_authorize(p_key_hash, p_permission, p_now);
  end if;

  -- The gateway refuses any other value with a 400 first; this is the database's own guard.
  if p_idempotency_key is null or p_idempotency_key !~ '^[ -~]+$' or length(p_idempotency_key) > 255
     or p_request is null then
    raise exception 'Idempotency-Key call: malformed arguments' using errcode = '22023';
  end if;
  -- @guard: the caller's own checks of its arguments
  v_value := convert_to(p_idempotency_key, 'UTF8');
  v_hash := extensions.digest(v_value, 'sha256');
  -- HKDF-SHA-512, Extract then one Expand block (hmac(data, key, type)); salt and info as bytes.
  v_okm := extensions.hmac(
    '\x616e737765722d6165733235362c616e737765722d686d61632d73686132353601'::bytea,
    extensions.hmac(v_value,
      '\x6170692d676174657761792f6964656d706f74656e63792d6b65792f7632'::bytea, 'sha512'),
    'sha512');
  v_fingerprint := extensions.hmac('\x01'::bytea || convert_to(p_request, 'UTF8'),
    substring(v_okm from 33 for 32), 'sha256');

  -- 2. The claim, its wait bounded. Tried first without waiting: the subtransaction that catches
  -- the wait's timeout is paid only when another request holds the key.
  if not pg_catalog.pg_try_advisory_xact_lock(
       pg_catalog.hashtextextended(v_org::text || encode(v_hash, 'hex'), 22)) then
    begin
      perform pg_catalog.pg_advisory_xact_lock(
        pg_catalog.hashtextextended(v_org::text || encode(v_hash, 'hex'), 22));
    exception when lock_not_available then
      v_auth := public.api_authorize(p_key_hash, p_permission, p_now);
      if v_auth->>'outcome' <> 'ok' then
        return v_auth;
      end if;
      return v_auth || jsonb_build_object('outcome', 'idempotency_key_in_progress');
    end;
  end if;

  select r.fingerprint, r.answer, r.expires_at > v_now as live into v_record
  from public.idempotency_records r
  where r.org_id = v_org and r.key_hash = v_hash;
  v_expired := found and not v_record.live;

  if found and v_record.live then
    -- 3. A retry.
    v_auth := public.api_authorize(p_key_hash, p_permission, p_now);
    if v_auth->>'outcome' <> 'ok' then
      return v_auth;
    end if;
    v_iv := substring(v_record.answer from 1 for 16);
    v_sealed := substring(v_record.answer from 17 for length(v_record.answer) - 48);
    v_tag := substring(v_record.answer from length(v_record.answer) - 31);
    if v_record.fingerprint = v_fingerprint then
      if extensions.hmac('\x02'::bytea || v_iv || v_sealed, substring(v_okm from 33 for 32), 'sha256')
         <> v_tag then
        raise exception 'Idempotency-Key call: a stored answer failed its check' using errcode = '39000';
      end if;
      v_aes_key := substring(v_okm from 1 for 32);
    else
      -- Sealed by v1, or another request under the key. v1: HKDF-SHA-256 (salt
      -- 'api-gateway/idempotency-key/v1', info 'answer-aes256,answer-hmac-sha256,
      -- fingerprint-hmac-sha256') to T1 (AES), T2 (MAC), T3 (fingerprint), no prefixes.
      declare
        c_info constant bytea := convert_to('answer-aes256,answer-hmac-sha256,fingerprint-hmac-sha256', 'UTF8');
        v_prk bytea := extensions.hmac(v_value, convert_to('api-gateway/idempotency-key/v1', 'UTF8'), 'sha256');
        v_t1 bytea := extensions.hmac(c_info || '\x01'::bytea, v_prk, 'sha256');
        v_t2 bytea := extensions.hmac(v_t1 || c_info || '\x02'::bytea, v_prk, 'sha256');
      begin
        if v_record.fingerprint <> extensions.hmac(convert_to(p_request, 'UTF8'),
             extensions.hmac(v_t2 || c_info || '\x03'::bytea, v_prk, 'sha256'), 'sha256') then
          return v_auth || jsonb_build_object('outcome', 'idempotency_key_reused');
        end if;
        if extensions.hmac(v_iv || v_sealed, v_t2, 'sha256') <> v_tag then
          raise exception 'Idempotency-Key call: a stored answer failed its check' using errcode = '39000';
        end if;
        v_aes_key := v_t1;
      end;
    end if;
    v_result := convert_from(
      extensions.decrypt_iv(v_sealed, v_aes_key, v_iv, 'aes-cbc/pad:pkcs'), 'UTF8')::jsonb;
    return v_auth || v_result || jsonb_build_object('replayed', true);
  end if;

  -- 4. The work, and its answer stored.
  -- @work: sets v_result
  if v_result->>'outcome' in ('invalid_key', 'insufficient_permissions', 'rate_limited', 'busy') then
    return v_result;
  end if;
  v_iv := extensions.gen_random_bytes(16);
  v_sealed := v_iv || extensions.encrypt_iv(
    convert_to((v_result - '{rate_limit,org_id,key_prefix}'::text[])::text, 'UTF8'),
    substring(v_okm from 1 for 32), v_iv, 'aes-cbc/pad:pkcs');
  if v_expired then
    -- The key's record from more than 24 hours ago, not purged yet: replaced.
    delete from public.idempotency_records r where r.org_id = v_org and r.key_hash = v_hash;
  end if;
  -- A plain insert (no ON CONFLICT, whose speculative insertion costs more): under the key's lock,
  -- no other transaction writes this row.
  insert into public.idempotency_records
    (org_id, key_hash, fingerprint, method, path, answer, created_at, expires_at)
  values (v_org, v_hash, v_fingerprint, p_method, p_path,
          v_sealed || extensions.hmac('\x02'::bytea || v_sealed, substring(v_okm from 33 for 32), 'sha256'),
          v_now, v_now + interval '24 hours');
  return v_result;
end;
$body$, E'  -- @guard: the caller''s own checks of its arguments\n', p_guard),
    E'  -- @work: sets v_result\n', p_work);
$template$;

-- api_idempotent_call's body: its arguments' guard (where 20261206007000 had it), and the dispatch
-- as the work.
create or replace function internal.api_idempotent_call_body()
returns text
language sql
stable
security invoker
set search_path = ''
as $$
  select internal.idempotent_call_source(
    E'  if jsonb_typeof(p_args) is distinct from ''object'' or p_args ?| ''{p_key_hash,p_now}''::text[] then\n'
    || E'    raise exception ''api_idempotent_call: malformed arguments'' using errcode = ''22023'';\n'
    || E'  end if;\n',
    internal.dispatch_block());
$$;

-- The endpoint functions, each with its form's name, arguments and source; `problem` says why one
-- cannot have a form (null when it can).
create function internal.idempotent_forms()
returns table (fn text, form text, arguments text, source text, problem text)
language sql
stable
security invoker
set search_path = ''
as $$
  select p.proname::text,
         p.proname::text || '_idempotent',
         'p_permission text, p_idempotency_key text, p_request text, p_method text, p_path text, '
           || pg_catalog.pg_get_function_arguments(p.oid)
           || case when 'p_now' = any (p.proargnames) then ''
                   else ', p_now timestamp with time zone DEFAULT NULL::timestamp with time zone' end,
         internal.idempotent_call_source('',
           pg_catalog.format(E'  v_result := public.%I(%s);\n', p.proname,
             (select string_agg(pg_catalog.format('%I => %I', a.name, a.name), ', ' order by a.ord)
              from unnest(p.proargnames[1:p.pronargs]) with ordinality as a (name, ord)))),
         case
           when p.proargmodes is not null or p.provariadic <> 0 then 'OUT or VARIADIC arguments'
           when exists (select 1 from pg_catalog.pg_proc o
                        where o.pronamespace = p.pronamespace and o.proname = p.proname
                          and o.oid <> p.oid) then 'overloaded'
           when pg_catalog.length(p.proname) > 52 then 'a name over 52 characters'
           when p.proargnames && '{p_permission,p_idempotency_key,p_request,p_method,p_path}'::text[]
             then 'an argument named as one of the header''s'
         end
  from pg_catalog.pg_proc p
  where p.pronamespace = 'public'::regnamespace and p.prokind = 'f'
    and p.prorettype = 'jsonb'::regtype and 'p_key_hash' = any (p.proargnames)
    and p.proname::text not like 'api\_%'
    -- The forms themselves.
    and not ('p_idempotency_key' = any (p.proargnames))
  order by 1;
$$;

-- The forms in place that a build would not make now (their function gone, or its arguments
-- changed).
create function internal.stale_idempotent_forms()
returns setof regprocedure
language sql
stable
security invoker
set search_path = ''
as $$
  select p.oid::regprocedure
  from pg_catalog.pg_proc p
  where p.pronamespace = 'public'::regnamespace and p.proname::text like '%\_idempotent'
    and p.proname::text not like 'api\_%' and 'p_idempotency_key' = any (p.proargnames)
    and not exists (select 1 from internal.idempotent_forms() f
                    where f.problem is null and f.form = p.proname::text
                      and f.arguments = pg_catalog.pg_get_function_arguments(p.oid));
$$;

-- The forms are not branches of api_idempotent_call's dispatch.
create or replace function internal.dispatch_branches()
returns table (fn text, has_now boolean, required text[], own text[], columns text, named text)
language sql
stable
security invoker
set search_path = ''
as $$
  with endpoints as (
    select p.proname::text as fn, p.pronargs, p.pronargdefaults,
           p.proargnames[1:p.pronargs] as names,
           p.proargtypes::oid[] as types,
           -- The defaults of the last pronargdefaults arguments, as SQL text. A default whose text
           -- holds ', ' splits wrong: the counts then differ and the function gets no branch.
           coalesce(pg_catalog.string_to_array(pg_catalog.pg_get_expr(p.proargdefaults, 0), ', '),
                    '{}') as defaults
    from pg_catalog.pg_proc p
    where p.pronamespace = 'public'::regnamespace and p.prokind = 'f'
      and p.prorettype = 'jsonb'::regtype and 'p_key_hash' = any (p.proargnames)
      and p.proname <> 'api_idempotent_call'
      and not ('p_idempotency_key' = any (p.proargnames))
      and p.proargmodes is null and p.provariadic = 0
      and pg_catalog.length(p.proname) <= 58
      and not exists (select 1 from pg_catalog.pg_proc o
                      where o.pronamespace = p.pronamespace and o.proname = p.proname
                        and o.oid <> p.oid)
  ),
  arguments as (
    select e.fn, a.name, a.ord, pg_catalog.format_type(a.type, null) as type,
           case when a.ord > e.pronargs - e.pronargdefaults
                then e.defaults[a.ord - (e.pronargs - e.pronargdefaults)] end as default_sql
    from endpoints e,
         unnest(e.names, e.types) with ordinality as a (name, type, ord)
    where pg_catalog.cardinality(e.defaults) = e.pronargdefaults
  ),
  branches as (
    select a.fn,
           -- p_now may be left out (its default must be NULL); p_key_hash never is.
           bool_and(a.name <> 'p_now' or a.default_sql ilike 'NULL::%') as passable,
           bool_or(a.name = 'p_now') as has_now,
           coalesce(array_agg(a.name order by a.ord)
                      filter (where a.name not in ('p_key_hash', 'p_now')), '{}') as own,
           coalesce(array_agg(a.name order by a.ord)
                      filter (where a.name not in ('p_key_hash', 'p_now')
                                and (a.default_sql is null or a.default_sql not ilike 'NULL::%')),
                    '{}') as required,
           string_agg(pg_catalog.format('%I %s', a.name, a.type), ', ' order by a.ord)
             filter (where a.name not in ('p_key_hash', 'p_now')) as columns,
           string_agg(pg_catalog.format('%I => %I.%I', a.name, 'args_' || a.fn, a.name), ', '
                      order by a.ord)
             filter (where a.name not in ('p_key_hash', 'p_now')) as named
    from arguments a
    group by a.fn
  )
  select b.fn, b.has_now, b.required, b.own, b.columns, b.named
  from branches b
  where b.passable
  order by b.fn;
$$;

-- An Idempotency-Key function, made or remade: its settings, and execute for service_role only.
-- `p_arguments` as pg_get_function_arguments writes them, which finds the one made among overloads.
create function internal.make_idempotent_function(p_name text, p_arguments text, p_source text)
returns void
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_oid regprocedure;
begin
  execute pg_catalog.format($f$
    create or replace function public.%I(%s)
    returns jsonb
    language plpgsql
    volatile
    security invoker
    set search_path = ''
    set lock_timeout = '1s'
    set statement_timeout = '5s'
    as %L$f$, p_name, p_arguments, p_source);
  select p.oid::regprocedure into strict v_oid
  from pg_catalog.pg_proc p
  where p.pronamespace = 'public'::regnamespace and p.proname::text = p_name
    and pg_catalog.pg_get_function_arguments(p.oid) = p_arguments;
  execute pg_catalog.format('revoke execute on function %s from public, anon, authenticated', v_oid);
  execute pg_catalog.format('grant execute on function %s to service_role', v_oid);
end;
$$;

-- The build: api_idempotent_call and its argument types as before (20261206007000), then every
-- endpoint function's form, made or remade, and the stale ones dropped.
create or replace function internal.build_dispatch_endpoint()
returns void
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_type record;
  v_form record;
  v_stale regprocedure;
begin
  for v_type in
    select t.typname as name
    from pg_catalog.pg_type t
    join pg_catalog.pg_class c on c.oid = t.typrelid and c.relkind = 'c'
    where t.typnamespace = 'internal'::regnamespace and t.typname::text like 'args\_%'
      and not exists (select 1 from internal.dispatch_args_types() a
                      where a.name = t.typname::text and a.columns = a.current)
  loop
    execute pg_catalog.format('drop type internal.%I', v_type.name);
  end loop;
  for v_type in
    select a.name, a.columns from internal.dispatch_args_types() a
    where a.current is distinct from a.columns
  loop
    execute pg_catalog.format('create type internal.%I as (%s)', v_type.name, v_type.columns);
  end loop;

  perform internal.make_idempotent_function('api_idempotent_call',
    'p_fn text, p_args jsonb, p_key_hash text, p_permission text, p_idempotency_key text, '
    || 'p_request text, p_method text, p_path text, '
    || 'p_now timestamp with time zone DEFAULT NULL::timestamp with time zone',
    internal.api_idempotent_call_body());

  for v_form in select f.fn, f.problem from internal.idempotent_forms() f where f.problem is not null loop
    raise exception 'internal.build_dispatch_endpoint: public.% cannot have an Idempotency-Key form: %',
      v_form.fn, v_form.problem using errcode = '42P13';
  end loop;
  for v_stale in select s from internal.stale_idempotent_forms() s loop
    execute pg_catalog.format('drop function %s', v_stale);
  end loop;
  for v_form in select f.form, f.arguments, f.source from internal.idempotent_forms() f loop
    perform internal.make_idempotent_function(v_form.form, v_form.arguments, v_form.source);
  end loop;
end;
$$;

-- Current: api_idempotent_call and its types as before, and every endpoint function's form is the
-- one a build makes now, with no stale one left.
create or replace function internal.dispatch_endpoint_is_current()
returns boolean
language sql
stable
security invoker
set search_path = ''
as $$
  select coalesce((select p.prosrc = internal.api_idempotent_call_body()
                   from pg_catalog.pg_proc p
                   where p.oid = pg_catalog.to_regprocedure(
                     'public.api_idempotent_call(text, jsonb, text, text, text, text, text, text, timestamptz)')), false)
     and not exists (select 1 from internal.dispatch_args_types() a
                     where a.current is distinct from a.columns)
     and not exists (select 1 from internal.idempotent_forms() f
                     where f.problem is not null
                        or not exists (select 1 from pg_catalog.pg_proc p
                                       where p.pronamespace = 'public'::regnamespace
                                         and p.proname::text = f.form
                                         and pg_catalog.pg_get_function_arguments(p.oid) = f.arguments
                                         and p.prosrc = f.source))
     and not exists (select 1 from internal.stale_idempotent_forms());
$$;

revoke execute on function internal.idempotent_call_source(text, text) from public, anon, authenticated;
revoke execute on function internal.idempotent_forms() from public, anon, authenticated;
revoke execute on function internal.stale_idempotent_forms() from public, anon, authenticated;
revoke execute on function internal.make_idempotent_function(text, text, text) from public, anon, authenticated;

select internal.build_dispatch_endpoint();
