-- Idempotency-Key, cheaper per first request: the same one call, the same record and the same
-- answers, with fewer pgcrypto calls and fewer statements. Measured in instructions, which the
-- shared machine's load does not move: valgrind --tool=callgrind on a single-user backend
-- (postgres --single) on the bench's data set, a prepared link of 10 executed 120 times against
-- 20, the difference over 100. The link function alone 5.38 M a call; through the
-- api_idempotent_call of 20261206006100 5.98 M (+11.3%); through this one 5.88 M (+9.4%).
--
-- 1. The record's two CHECK constraints go (-38 k instructions an insert). Postgres parses a
--    table's CHECK expressions from their stored text on every statement that inserts into it
--    (ExecRelCheck builds them per statement, not per session). Both columns are written only by
--    api_idempotent_call, as the outputs of SHA-256 and HMAC-SHA-256: 32 bytes by construction.
alter table public.idempotency_records
  drop constraint idempotency_records_key_hash_check,
  drop constraint idempotency_records_fingerprint_check;

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
-- Everything else is as 20261206006100 says (its header is the contract: the steps, the claim and
-- its bounded wait, what is stored and what is not, the lock order).
create or replace function public.api_idempotent_call(
  p_fn text,
  p_args jsonb,
  p_key_hash text,
  p_permission text,
  p_idempotency_key text,
  p_request text,
  p_method text,
  p_path text,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
set lock_timeout = '1s'
set statement_timeout = '5s'
as $$
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
      v_okm := substring(v_okm from 1 for 32);
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
        v_okm := v_t1;
      end;
    end if;
    v_result := convert_from(
      extensions.decrypt_iv(v_sealed, v_okm, v_iv, 'aes-cbc/pad:pkcs'), 'UTF8')::jsonb;
    return v_auth || v_result || jsonb_build_object('replayed', true);
  end if;

  -- 4. The work, and its answer stored.
  v_result := internal.dispatch_endpoint(p_fn, p_args, p_key_hash, p_now);
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
$$;
