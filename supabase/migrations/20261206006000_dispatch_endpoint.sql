-- internal.dispatch_endpoint(p_fn, p_args, p_key_hash, p_now): api_idempotent_call's call of the
-- endpoint function the gateway names, with one static statement per endpoint function, so that
-- Postgres plans it once per session as it does the gateway's direct calls. internal.call_endpoint
-- (one dynamic statement, parsed and planned on every call) cost ~100 us of a request's ~0.6 ms of
-- Postgres time on the link at batch 10 (`deno task bench --idempotency`); this is the bulk of what
-- the header cost in Postgres.
--
-- Nothing is written by hand per endpoint: internal.build_dispatch_endpoint() generates the
-- function from the catalog, with a branch for every endpoint function (call_endpoint's rule: a
-- function of schema public, the only one of its name, returning jsonb and taking p_key_hash). A
-- branch is taken when the arguments are ones it can pass exactly: every key of p_args is one of
-- the function's arguments, and every argument without a default, or with a default other than
-- NULL, is there (an argument left out takes its default, and jsonb_to_record gives NULL for it).
-- Anything else (a function added after the last build, a non-NULL default left out) goes to
-- internal.call_endpoint, which answers it correctly, only slower.
--
-- A migration that adds an endpoint function, or changes one's arguments, ends with
--   select internal.build_dispatch_endpoint();
-- (a branch naming arguments a function no longer has would fail until then). The database tests
-- check that the function in place is the one a build would make now (dispatch_endpoint_is_current).

-- The body of internal.dispatch_endpoint, as the catalog says it should be now.
create function internal.dispatch_endpoint_body()
returns text
language sql
stable
security invoker
set search_path = ''
as $$
  with endpoints as (
    select p.proname as fn, p.pronargs, p.pronargdefaults,
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
      and p.proargmodes is null and p.provariadic = 0
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
           string_agg(pg_catalog.format('%I => a.%I', a.name, a.name), ', ' order by a.ord)
             filter (where a.name not in ('p_key_hash', 'p_now')) as named
    from arguments a
    group by a.fn
  )
  select E'\nbegin\n  case p_fn\n'
    || coalesce(string_agg(
         pg_catalog.format(E'    when %L then\n', b.fn)
         || case
              when b.columns is null then pg_catalog.format(
                E'      if p_args = ''{}''::jsonb then\n'
                || E'        return public.%I(p_key_hash => p_key_hash%s);\n      end if;\n',
                b.fn, case when b.has_now then ', p_now => p_now' else '' end)
              else pg_catalog.format(
                E'      if p_args ?& %L::text[] and (p_args - %L::text[]) = ''{}''::jsonb then\n'
                || E'        return (select public.%I(p_key_hash => p_key_hash%s, %s)\n'
                || E'                from pg_catalog.jsonb_to_record(p_args) as a (%s));\n'
                || E'      end if;\n',
                b.required, b.own, b.fn,
                case when b.has_now then ', p_now => p_now' else '' end, b.named, b.columns)
            end,
         '' order by b.fn) filter (where b.passable), '')
    || E'    else\n      null;\n  end case;\n'
    || E'  return internal.call_endpoint(p_fn, p_args || pg_catalog.jsonb_build_object(''p_key_hash'', p_key_hash)\n'
    || E'    || case when p_now is null then ''{}''::jsonb else pg_catalog.jsonb_build_object(''p_now'', p_now) end);\n'
    || 'end;'
  from branches b;
$$;

-- (Re)creates internal.dispatch_endpoint from the catalog; run by migrations (as their owner).
create function internal.build_dispatch_endpoint()
returns void
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  execute pg_catalog.format($f$
    create or replace function internal.dispatch_endpoint(
      p_fn text, p_args jsonb, p_key_hash text, p_now timestamptz)
    returns jsonb
    language plpgsql
    volatile
    security invoker
    set search_path = ''
    as %L$f$, internal.dispatch_endpoint_body());
  revoke execute on function internal.dispatch_endpoint(text, jsonb, text, timestamptz)
    from public, anon, authenticated;
  grant execute on function internal.dispatch_endpoint(text, jsonb, text, timestamptz) to service_role;
end;
$$;

-- True when internal.dispatch_endpoint is what a build would make now (a test asks).
create function internal.dispatch_endpoint_is_current()
returns boolean
language sql
stable
security invoker
set search_path = ''
as $$
  select coalesce((select p.prosrc = internal.dispatch_endpoint_body()
                   from pg_catalog.pg_proc p
                   where p.oid = pg_catalog.to_regprocedure(
                     'internal.dispatch_endpoint(text, jsonb, text, timestamptz)')), false);
$$;

revoke execute on function internal.dispatch_endpoint_body() from public, anon, authenticated;
revoke execute on function internal.build_dispatch_endpoint() from public, anon, authenticated;
revoke execute on function internal.dispatch_endpoint_is_current() from public, anon, authenticated;

select internal.build_dispatch_endpoint();
