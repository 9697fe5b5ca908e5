-- A write with an Idempotency-Key: the gateway's one call for it (kit/idempotency.ts), in one
-- transaction, whatever the endpoint. Arguments:
--   p_fn, p_args          the endpoint function and its own named arguments (p_key_hash and p_now
--                         are passed on), as the gateway would call it without the header
--   p_key_hash, p_permission, p_now   the API key's hash, the route's scope, the test clock
--   p_idempotency_key     the header's value (1 to 255 printable ASCII characters): what every
--                         key below is derived from, here, in this call; never stored
--   p_request             the request as canonical JSON (method, path template, parameters,
--                         query, body with sorted keys): what the fingerprint is computed over
--   p_method, p_path      the route, kept beside the record for support
--
-- This overload replaces the one of 20261206002200, which took the derived keys from the gateway
-- (SHA-256, HKDF and HMAC in JavaScript: ~33 us of the gateway's CPU a request; pgcrypto does the
-- same in C here in ~10 us) and ran the endpoint through internal.call_endpoint. That one stays
-- until a later migration drops it, so that a gateway deployed before this migration keeps
-- working until it is redeployed; the records are the same, so a retry across the change replays.
--
-- Derivations (as before, byte for byte): the lookup hash is SHA-256 of the value; HKDF-SHA-256
-- (RFC 5869; salt 'api-gateway/idempotency-key/v1', info
-- 'answer-aes256,answer-hmac-sha256,fingerprint-hmac-sha256') expands to T1 || T2 || T3: the
-- AES-256 key of the answer, its HMAC-SHA-256 key, and the fingerprint's HMAC key. The fingerprint
-- is HMAC-SHA-256 of p_request under T3, so another request under the key is told apart (422)
-- without the body being readable from a dump.
--
-- Result: the endpoint function's (api_authorize's shape), and on a replay `"replayed": true`.
-- Steps:
--   1. The org, from a valid key that holds the scope. None: api_authorize's answer (401 or 403,
--      the token taken), exactly what the endpoint function would answer first; nothing stored.
--   2. The claim: a transaction-level advisory lock on (org, key), waited for at most lock_timeout
--      (1 s); past that the answer is "idempotency_key_in_progress" (409), once api_authorize took
--      the request's token and said ok. The lock is released when the holder commits, and its
--      record is then visible to the next holder's read.
--   3. A committed, unexpired record: api_authorize takes the token (a replay is a request: its
--      401, 403 or 429 come first); another request under the key (fingerprint) is
--      "idempotency_key_reused" (422); else the stored result, decrypted, with fresh limits.
--   4. No record (or an expired one): the endpoint function does the work (through
--      internal.dispatch_endpoint: a static call, planned once per session), and its result
--      (without the rate-limit state) is stored encrypted, unless it is one of the gateway's own
--      refusals (invalid_key, insufficient_permissions, rate_limited, busy): then nothing is
--      written, so the client may fix the request and retry under the same key.
-- Everything is in the transaction of the work: a rollback (a timeout, say) leaves no record.
--
-- Encryption: pgcrypto has no AES-GCM, so encrypt-then-MAC: AES-256-CBC with a random IV
-- (encrypt_iv), then HMAC-SHA-256 over iv || ciphertext under a second key; the tag is checked
-- before decrypting (docs/architecture.md says why not pgp_sym_encrypt).
--
-- Why an advisory lock rather than claiming the row (insert if absent, then update it with the
-- answer): one write instead of two, and no subtransaction holding a row. The lock's key is 64
-- bits of a hash of (org, key): two records sharing one only wait for each other.
--
-- Why the key's org is read on every call, not kept in the session as a setting (a statement
-- less): on Postgres 15 every new setting sorts the session's array of settings, and every exit
-- from a function with SET clauses walks all of them; one setting per key cost 0.25 ms of Postgres
-- CPU a request on the bench's 1,000 keys.
--
-- Lock order: the (org, key) lock, then what the endpoint function locks (the org's usage slots,
-- the key, its rows). A request waiting for that lock holds nothing yet, so no cycle can form.
create function public.api_idempotent_call(
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
  v_info constant bytea := convert_to('answer-aes256,answer-hmac-sha256,fingerprint-hmac-sha256', 'UTF8');
  v_org uuid;
  v_auth jsonb;
  v_result jsonb;
  v_record record;
  v_value bytea;
  v_prk bytea;
  v_aes_key bytea;
  v_mac_key bytea;
  v_hash bytea;
  v_fingerprint bytea;
  v_iv bytea;
  v_sealed bytea;
  v_lock bigint;
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
     or p_request is null
     or p_args is null or jsonb_typeof(p_args) <> 'object'
     or p_args ? 'p_key_hash' or p_args ? 'p_now' then
    raise exception 'api_idempotent_call: malformed arguments' using errcode = '22023';
  end if;
  v_value := convert_to(p_idempotency_key, 'UTF8');
  v_hash := extensions.digest(v_value, 'sha256');
  -- HKDF-Extract, then Expand to three blocks (hmac(data, key, type)).
  v_prk := extensions.hmac(v_value, convert_to('api-gateway/idempotency-key/v1', 'UTF8'), 'sha256');
  v_aes_key := extensions.hmac(v_info || '\x01'::bytea, v_prk, 'sha256');
  v_mac_key := extensions.hmac(v_aes_key || v_info || '\x02'::bytea, v_prk, 'sha256');
  v_fingerprint := extensions.hmac(convert_to(p_request, 'UTF8'),
    extensions.hmac(v_mac_key || v_info || '\x03'::bytea, v_prk, 'sha256'), 'sha256');

  -- 2. The claim, its wait bounded. Tried first without waiting: the subtransaction that catches
  -- the wait's timeout is paid only when another request holds the key.
  v_lock := pg_catalog.hashtextextended(v_org::text || encode(v_hash, 'hex'), 22);
  if not pg_catalog.pg_try_advisory_xact_lock(v_lock) then
    begin
      perform pg_catalog.pg_advisory_xact_lock(v_lock);
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
    if v_record.fingerprint <> v_fingerprint then
      return v_auth || jsonb_build_object('outcome', 'idempotency_key_reused');
    end if;
    v_iv := substring(v_record.answer from 1 for 16);
    v_sealed := substring(v_record.answer from 17 for length(v_record.answer) - 48);
    if extensions.hmac(v_iv || v_sealed, v_mac_key, 'sha256')
       <> substring(v_record.answer from length(v_record.answer) - 31) then
      raise exception 'api_idempotent_call: a stored answer failed its check' using errcode = '39000';
    end if;
    v_result := convert_from(
      extensions.decrypt_iv(v_sealed, v_aes_key, v_iv, 'aes-cbc/pad:pkcs'), 'UTF8')::jsonb;
    return v_auth || v_result || jsonb_build_object('replayed', true);
  end if;

  -- 4. The work, and its answer stored.
  v_result := internal.dispatch_endpoint(p_fn, p_args, p_key_hash, p_now);
  if v_result->>'outcome' in ('invalid_key', 'insufficient_permissions', 'rate_limited', 'busy') then
    return v_result;
  end if;
  v_iv := extensions.gen_random_bytes(16);
  v_sealed := extensions.encrypt_iv(
    convert_to((v_result - 'rate_limit' - 'org_id' - 'key_prefix')::text, 'UTF8'),
    v_aes_key, v_iv, 'aes-cbc/pad:pkcs');
  if v_expired then
    -- The key's record from more than 24 hours ago, not purged yet: replaced.
    delete from public.idempotency_records r where r.org_id = v_org and r.key_hash = v_hash;
  end if;
  -- A plain insert (no ON CONFLICT, whose speculative insertion costs more): under the key's lock,
  -- no other transaction writes this row.
  insert into public.idempotency_records
    (org_id, key_hash, fingerprint, method, path, answer, created_at, expires_at)
  values (v_org, v_hash, v_fingerprint, p_method, p_path,
          v_iv || v_sealed || extensions.hmac(v_iv || v_sealed, v_mac_key, 'sha256'),
          v_now, v_now + interval '24 hours');
  return v_result;
end;
$$;

revoke execute on function public.api_idempotent_call(text, jsonb, text, text, text, text, text, text, timestamptz) from public, anon, authenticated;
grant execute on function public.api_idempotent_call(text, jsonb, text, text, text, text, text, text, timestamptz) to service_role;
