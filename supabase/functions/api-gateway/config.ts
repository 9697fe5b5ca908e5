/** What the deployed function needs from its environment. */
export interface Config {
  supabaseUrl: string;
  /** The secret (service role) key. Never log it, never put it in an error. */
  serviceKey: string;
  /** WEBHOOK_DISPATCH_SECRET: what the dispatch route requires (pg_cron sends it from Vault).
   * Unset, the route does not exist. */
  webhookDispatchSecret?: string;
  /** WEBHOOK_SECRETS_KEYS as given: parsed on its first use (webhooks/secret_keys.ts), so that a
   * cold start pays nothing and a missing key fails the webhook operations, not the function. */
  webhookSecretsKeys?: string;
}

/** Reads the service credentials the platform injects: SUPABASE_URL, plus the secret key from
 * SUPABASE_SECRET_KEYS (a JSON object; its `default` entry), else SUPABASE_SERVICE_ROLE_KEY.
 * Errors name the variable, never its value. */
export function readConfig(get: (name: string) => string | undefined): Config {
  const supabaseUrl = nonEmpty(get("SUPABASE_URL"));
  if (supabaseUrl === undefined) throw new Error("Missing environment variable SUPABASE_URL.");
  if (!URL.canParse(supabaseUrl)) {
    throw new Error("Environment variable SUPABASE_URL is not a valid URL.");
  }

  const serviceKey = secretKeyFrom(nonEmpty(get("SUPABASE_SECRET_KEYS"))) ??
    nonEmpty(get("SUPABASE_SERVICE_ROLE_KEY"));
  if (serviceKey === undefined) {
    throw new Error(
      "Missing the service key: set SUPABASE_SECRET_KEYS (a JSON object with a `default` key) " +
        "or SUPABASE_SERVICE_ROLE_KEY.",
    );
  }
  const webhookDispatchSecret = nonEmpty(get("WEBHOOK_DISPATCH_SECRET"));
  if (webhookDispatchSecret !== undefined && webhookDispatchSecret.length < 32) {
    throw new Error("Environment variable WEBHOOK_DISPATCH_SECRET is shorter than 32 characters.");
  }
  const webhookSecretsKeys = nonEmpty(get("WEBHOOK_SECRETS_KEYS"));
  return {
    supabaseUrl,
    serviceKey,
    ...(webhookDispatchSecret ? { webhookDispatchSecret } : {}),
    ...(webhookSecretsKeys ? { webhookSecretsKeys } : {}),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

/** The `default` entry, or undefined when the object has none. */
function secretKeyFrom(json: string | undefined): string | undefined {
  if (json === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    // Not the SyntaxError itself: V8 quotes the input it could not parse, i.e. the secret.
    throw new Error("Environment variable SUPABASE_SECRET_KEYS is not valid JSON.");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Error("Environment variable SUPABASE_SECRET_KEYS is not a JSON object.");
  }
  const key = (parsed as Record<string, unknown>).default;
  return typeof key === "string" ? nonEmpty(key) : undefined;
}
