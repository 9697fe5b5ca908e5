-- Calls an endpoint function by name with named arguments given as one JSON object, as PostgREST
-- does for POST /rest/v1/rpc/<fn>: each argument is read from the object with the function's own
-- declared type (jsonb_to_record: a JSON array becomes a Postgres array, a string a uuid or a
-- timestamptz), and an argument the object lacks takes its default. api_idempotent_call uses it
-- to run whichever endpoint the gateway names, with no code per endpoint.
--
-- Only an endpoint function may be called: a function of schema public, the only one of its name,
-- returning jsonb and taking p_key_hash (so it authorizes its call itself). Anything else, and an
-- argument the function does not have, is an error (a bug in the gateway, answered 500).
-- In schema internal: not exposed by PostgREST.
create function internal.call_endpoint(p_fn text, p_args jsonb)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_oid oid;
  v_named text;
  v_columns text;
  v_used integer;
  v_result jsonb;
  v_cache text;
  v_cached text;
  v_names text[];
  v_statement text;
begin
  -- (A '{0,62}' bound in the pattern would cost tens of microseconds a call to match.)
  if p_fn is null or p_fn !~ '^[a-z_][a-z0-9_]*$' or length(p_fn) > 63 or p_fn = 'api_idempotent_call'
     or p_args is null or jsonb_typeof(p_args) <> 'object' then
    raise exception 'call_endpoint: not an endpoint call' using errcode = '22023';
  end if;
  -- The statement, kept in the session (a setting per function): reading the catalog and building
  -- it cost ~150 us a call. Used while the function is still the one it was built for (its oid
  -- still names it: one dropped and created again is read afresh; CREATE OR REPLACE can change
  -- neither the names nor the types of its arguments) and the arguments are the same names
  -- (the object has all of them and no other). Simple expressions only: no query runs here.
  v_cache := 'api_gateway.call_' || p_fn;
  v_cached := current_setting(v_cache, true);
  if v_cached is not null and v_cached <> '' then
    v_names := split_part(v_cached, E'\n', 2)::text[];
    if split_part(v_cached, E'\n', 1)::oid::regproc::text = 'public.' || p_fn
       and p_args ?& v_names and (p_args - v_names) = '{}'::jsonb then
      execute split_part(v_cached, E'\n', 3) into v_result using p_args;
      return v_result;
    end if;
  end if;

  select p.oid into v_oid
  from pg_catalog.pg_proc p
  where p.pronamespace = 'public'::regnamespace and p.proname = p_fn and p.prokind = 'f'
    and p.prorettype = 'jsonb'::regtype and 'p_key_hash' = any (p.proargnames)
    and not exists (select 1 from pg_catalog.pg_proc o
                    where o.pronamespace = p.pronamespace and o.proname = p.proname and o.oid <> p.oid);
  if not found then
    raise exception 'call_endpoint: % is not an endpoint function', p_fn using errcode = '42883';
  end if;

  select string_agg(format('%I => a.%I', a.name, a.name), ', ' order by a.ord),
         string_agg(format('%I %s', a.name, pg_catalog.format_type(a.type, null)), ', ' order by a.ord),
         count(*)::integer
  into v_named, v_columns, v_used
  from pg_catalog.pg_proc p,
       unnest(p.proargnames[1:p.pronargs], p.proargtypes::oid[]) with ordinality as a (name, type, ord)
  where p.oid = v_oid and p_args ? a.name;
  if v_used is distinct from (select count(*) from jsonb_object_keys(p_args)) then
    raise exception 'call_endpoint: an argument % does not take', p_fn using errcode = '42883';
  end if;

  v_statement := format('select public.%I(%s) from pg_catalog.jsonb_to_record($1) as a (%s)',
                        p_fn, v_named, v_columns);
  perform pg_catalog.set_config(v_cache, v_oid::text || E'\n'
    || (select array_agg(k order by k) from jsonb_object_keys(p_args) k)::text || E'\n'
    || v_statement, false);
  execute v_statement into v_result using p_args;
  return v_result;
end;
$$;

revoke execute on function internal.call_endpoint(text, jsonb) from public, anon, authenticated;
grant execute on function internal.call_endpoint(text, jsonb) to service_role;
