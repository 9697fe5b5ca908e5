-- Webhook signing secrets at rest: each one (secret, and previous_secret after a rotation) is
-- stored encrypted, AES-256-GCM under a key the database never holds (WEBHOOK_SECRETS_KEYS in the
-- function's environment; supabase/functions/api-gateway/webhooks/secret_keys.ts):
-- `whenc_v1.<key id>.<base64url of the IV, ciphertext and tag>`. The gateway encrypts before it
-- calls create_webhook and rotate_webhook_secret (which store and return what they are given,
-- unchanged), and decrypts right before signing what claim_webhook_deliveries returns.
--
-- Nothing is converted here: SQL has no key. A database deployed before this holds its secrets in
-- the clear, so the constraints are added NOT VALID (every write from now on must be encrypted;
-- the rows already there are not checked), and validated at once when no such row exists (a new
-- database). Otherwise `deno task secrets reencrypt` (local/webhook_secrets.ts) encrypts those
-- rows and then validates the constraints; until it has run, changes to the endpoints it has not
-- yet encrypted are refused by these constraints (nothing is ever written in the clear), so run it
-- right after this migration (docs/deploying.md).
alter table public.webhook_endpoints
  drop constraint webhook_endpoints_secret_check,
  drop constraint webhook_endpoints_previous_secret_check,
  add constraint webhook_endpoints_secret_check
    check (secret ~ '^whenc_v1\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{40,255}$') not valid,
  add constraint webhook_endpoints_previous_secret_check
    check (previous_secret ~ '^whenc_v1\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{40,255}$') not valid;

do $$
begin
  if not exists (
    select 1 from public.webhook_endpoints e
    where e.secret !~ '^whenc_v1\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{40,255}$'
       or e.previous_secret !~ '^whenc_v1\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{40,255}$'
  ) then
    alter table public.webhook_endpoints
      validate constraint webhook_endpoints_secret_check;
    alter table public.webhook_endpoints
      validate constraint webhook_endpoints_previous_secret_check;
  end if;
end;
$$;

comment on column public.webhook_endpoints.secret is
  'The signing secret, encrypted: whenc_v1.<key id>.<base64url(iv || ciphertext)>, AES-256-GCM '
  'under WEBHOOK_SECRETS_KEYS (the function''s environment). Never in the clear.';
comment on column public.webhook_endpoints.previous_secret is
  'The secret a rotation replaced, encrypted as secret is; it signs beside it until '
  'previous_secret_expires_at.';
