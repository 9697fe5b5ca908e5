-- Idempotency-Key, cheaper per first request: the same one call, the same record and the same
-- answers, with fewer pgcrypto calls and fewer statements. Measured in instructions, which the
-- shared machine's load does not move: valgrind --tool=callgrind on a single-user backend
-- (postgres --single) on the bench's data set, a prepared link of 10 executed 120 times against
-- 20, the difference over 100. The link function alone 5.38 M a call; through the
-- api_idempotent_call of 20261206006100 5.98 M (+11.3%); through this one 5.85 M (+8.8%).
-- Real time moves further than instructions (code run once a transaction runs cold), see 4.
--
-- 1. The record's two 32-byte checks move from the table to a domain (-33 k instructions an
--    insert). Postgres parses a table's CHECK expressions from their stored text on every
--    statement that inserts into it (ExecRelCheck builds them per statement); a domain's check is
--    kept compiled in the session's type cache. The same rule holds: a row with another length is
--    refused (23514).
create domain internal.sha256_bytes as bytea check (pg_catalog.length(value) = 32);
alter table public.idempotency_records
  drop constraint idempotency_records_key_hash_check,
  drop constraint idempotency_records_fingerprint_check,
  alter column key_hash type internal.sha256_bytes,
  alter column fingerprint type internal.sha256_bytes;

-- 2. Sealing v2: HKDF-SHA-512 gives both keys from one expand block, and the fingerprint is keyed
--    by the MAC key (four HMACs a first request instead of six; -36 k instructions):
--      lookup       SHA-256(value)                                        (unchanged)
--      PRK          HMAC-SHA-512(salt 'api-gateway/idempotency-key/v2', value)
--      T(1)         HMAC-SHA-512(PRK, 'answer-aes256,answer-hmac-sha256' || 0x01)
--      AES-256 key  T(1)[0:32];   MAC key  T(1)[32:64]
--      fingerprint  HMAC-SHA-256(MAC key, 0x01 || canonical request)
--      answer       iv || AES-256-CBC(iv, result) || HMAC-SHA-256(MAC key, 0x02 || iv || ciphertext)
--    The leading 0x01 and 0x02 keep the two uses of the MAC key apart: no fingerprint is a valid
--    tag. A record sealed by v1 (20261206002200 and 20261206006100: HKDF-SHA-256 to three keys,
--    no prefixes) still replays: when the fingerprint differs, v1's is computed too before the
--    answer is 422. Records last 24 hours, so that path can go a day after every gateway runs
--    this; the v1 overload of 20261206002200, kept for gateways deployed before 20261206006100,
--    writes v1 records and cannot read v2 ones (a retry across the two is a 422).
--
-- 3. Fewer plpgsql statements: every expression a function evaluates is compiled again in each
--    transaction (plpgsql's simple expressions live in a per-transaction state), ~4 k
--    instructions each, so constants are literals and jsonb's key removal takes one array.
--
-- 4. The endpoint function is called from api_idempotent_call itself, not through
--    internal.dispatch_endpoint: a plpgsql function call less (its settings saved and restored,
--    its state set up) and no statement for the arguments. Each endpoint function's arguments
--    get a composite type (internal.args_<function>), filled from p_args by
--    jsonb_populate_record in one expression, where jsonb_to_record ran a query (an executor
--    started and ended on every call): -32 k instructions. In real time it counts for more:
--    Postgres's CPU per call with one pgbench client, a prototype of this against the call
--    through dispatch_endpoint, 30 rounds of 600 calls alternating: 66 us less (the median of
--    the rounds' differences, which spread over +-200 us on this shared machine), of ~250 us the
--    header cost that way.
--    So api_idempotent_call is generated, as dispatch_endpoint was: its source is
--    internal.api_idempotent_call_body() below, into which internal.build_dispatch_endpoint()
--    writes the dispatch (internal.dispatch_block()). internal.dispatch_endpoint, which nothing
--    calls any more, is dropped; the database tests call api_idempotent_call itself.
--
-- Everything else is as 20261206006100 says (its header is the contract: the steps, the claim and
-- its bounded wait, what is stored and what is not, the lock order).

-- The endpoint functions the dispatch calls statically, one row each, as the catalog has them now
-- (20261206006000 says which functions and when a branch is taken); a function whose name is too
-- long for its type's name gets no branch (call_endpoint calls it).
create function internal.dispatch_branches()
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

-- The dispatch, as a block of plpgsql that sets v_result to the result of the endpoint function
-- p_fn with p_args (and p_key_hash, p_now): a static call when a branch can pass the arguments
-- exactly, else internal.call_endpoint.
create function internal.dispatch_block()
returns text
language sql
stable
security invoker
set search_path = ''
as $$
  select E'  <<dispatch>>\n  declare\n'
    || coalesce(string_agg(pg_catalog.format(E'    %I internal.%I;\n', 'args_' || b.fn, 'args_' || b.fn),
                           '' order by b.fn) filter (where b.columns is not null), '')
    || E'  begin\n    case p_fn\n'
    || coalesce(string_agg(
         pg_catalog.format(E'      when %L then\n', b.fn)
         || case
              when b.columns is null then pg_catalog.format(
                E'        if p_args = ''{}''::jsonb then\n'
                || E'          v_result := public.%I(p_key_hash => p_key_hash%s);\n'
                || E'          exit dispatch;\n        end if;\n',
                b.fn, case when b.has_now then ', p_now => p_now' else '' end)
              else pg_catalog.format(
                E'        if p_args ?& %L::text[] and (p_args - %L::text[]) = ''{}''::jsonb then\n'
                || E'          %I := pg_catalog.jsonb_populate_record(null::internal.%I, p_args);\n'
                || E'          v_result := public.%I(p_key_hash => p_key_hash%s, %s);\n'
                || E'          exit dispatch;\n        end if;\n',
                b.required, b.own, 'args_' || b.fn, 'args_' || b.fn, b.fn,
                case when b.has_now then ', p_now => p_now' else '' end, b.named)
            end,
         '' order by b.fn), '')
    || E'      else\n        null;\n    end case;\n'
    || E'    v_result := internal.call_endpoint(p_fn, p_args || pg_catalog.jsonb_build_object(''p_key_hash'', p_key_hash)\n'
    || E'      || case when p_now is null then ''{}''::jsonb else pg_catalog.jsonb_build_object(''p_now'', p_now) end);\n'
    || E'  end;\n'
  from internal.dispatch_branches() b;
$$;

-- The body of public.api_idempotent_call: the source below, its dispatch filled in.
create function internal.api_idempotent_call_body()
returns text
language sql
stable
security invoker
set search_path = ''
as $template$
  select pg_catalog.replace($body$
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
     or p_request is null or jsonb_typeof(p_args) is distinct from 'object'
     or p_args ?| '{p_key_hash,p_now}'::text[] then
    raise exception 'api_idempotent_call: malformed arguments' using errcode = '22023';
  end if;
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
        raise exception 'api_idempotent_call: a stored answer failed its check' using errcode = '39000';
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
          raise exception 'api_idempotent_call: a stored answer failed its check' using errcode = '39000';
        end if;
        v_aes_key := v_t1;
      end;
    end if;
    v_result := convert_from(
      extensions.decrypt_iv(v_sealed, v_aes_key, v_iv, 'aes-cbc/pad:pkcs'), 'UTF8')::jsonb;
    return v_auth || v_result || jsonb_build_object('replayed', true);
  end if;

  -- 4. The work, and its answer stored.
  -- @dispatch: sets v_result (internal.dispatch_block())
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
$body$, E'  -- @dispatch: sets v_result (internal.dispatch_block())\n', internal.dispatch_block());
$template$;

-- Each endpoint function's argument type, made or remade when its arguments changed, and dropped
-- with its function; then api_idempotent_call with the dispatch of the catalog now.
create or replace function internal.build_dispatch_endpoint()
returns void
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_type record;
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

  execute pg_catalog.format($f$
    create or replace function public.api_idempotent_call(
      p_fn text, p_args jsonb, p_key_hash text, p_permission text, p_idempotency_key text,
      p_request text, p_method text, p_path text, p_now timestamptz default null)
    returns jsonb
    language plpgsql
    volatile
    security invoker
    set search_path = ''
    set lock_timeout = '1s'
    set statement_timeout = '5s'
    as %L$f$, internal.api_idempotent_call_body());
  revoke execute on function public.api_idempotent_call(text, jsonb, text, text, text, text, text, text, timestamptz)
    from public, anon, authenticated;
  grant execute on function public.api_idempotent_call(text, jsonb, text, text, text, text, text, text, timestamptz)
    to service_role;
end;
$$;

-- The argument types the branches need (name, columns) and what the catalog has under that name
-- (null: none).
create function internal.dispatch_args_types()
returns table (name text, columns text, current text)
language sql
stable
security invoker
set search_path = ''
as $$
  select 'args_' || b.fn, b.columns,
         (select string_agg(pg_catalog.format('%I %s', a.attname, pg_catalog.format_type(a.atttypid, null)),
                            ', ' order by a.attnum)
          from pg_catalog.pg_type t
          join pg_catalog.pg_attribute a on a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped
          where t.typnamespace = 'internal'::regnamespace and t.typname::text = 'args_' || b.fn)
  from internal.dispatch_branches() b
  where b.columns is not null;
$$;

-- Current: api_idempotent_call is what a build would make now, and every argument type is in place.
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
                     where a.current is distinct from a.columns);
$$;

revoke execute on function internal.dispatch_branches() from public, anon, authenticated;
revoke execute on function internal.dispatch_block() from public, anon, authenticated;
revoke execute on function internal.api_idempotent_call_body() from public, anon, authenticated;
revoke execute on function internal.dispatch_args_types() from public, anon, authenticated;

select internal.build_dispatch_endpoint();

-- The dispatcher on its own, and its body's generator: nothing calls them any more.
drop function internal.dispatch_endpoint(text, jsonb, text, timestamptz);
drop function internal.dispatch_endpoint_body();
