import type { PostgrestClient } from "@supabase/postgrest-js";
import { serviceUnavailable } from "../errors.ts";
import { assertIdentifier, type GatewayDb, isOutageSqlstate } from "./port.ts";

export const DEFAULT_TIMEOUT_MS = 8000;

export interface SupabaseClientOptions {
  url: string;
  /** The secret (service role) key: PostgREST then runs the RPCs as service_role. */
  serviceKey: string;
  /** Upper bound for each HTTP request, body included. */
  timeoutMs?: number;
  /** The fetch to wrap; tests inject one, production uses the global. */
  fetch?: typeof fetch;
}

/** The PostgREST client supabase-js's `.rpc()` runs (@supabase/postgrest-js, the same release),
 * made the way supabase-js makes it for a service key: `{url}/rest/v1`, schema public, the key as
 * `apikey` and as the bearer, every request time-bounded. The rest of supabase-js (auth with its
 * session machinery, realtime, storage, functions) is not loaded: the gateway calls RPCs only,
 * and those modules were most of its cold start. Loaded with the first database call: a refused
 * or keyless request never needs it. */
export async function createSupabaseClient(
  { url, serviceKey, timeoutMs = DEFAULT_TIMEOUT_MS, fetch: baseFetch }: SupabaseClientOptions,
): Promise<PostgrestClient> {
  const { PostgrestClient } = await import("@supabase/postgrest-js");
  return new PostgrestClient(new URL("rest/v1", url.endsWith("/") ? url : `${url}/`).href, {
    headers: {
      apikey: serviceKey,
      Authorization: `Bearer ${serviceKey}`,
      "X-Client-Info": "postgrest-js",
    },
    schema: "public",
    // RPCs are POSTs, which postgrest-js never retries; say so, so a switch to GET cannot add
    // hidden retries with multi-second back-offs behind the timeout.
    retry: false,
    fetch: withTimeout(baseFetch ?? globalThis.fetch, timeoutMs),
  });
}

/** Aborts a request (connect, headers and body) after `timeoutMs`, or when the caller's own
 * signal aborts, whichever comes first. */
export function withTimeout(base: typeof fetch, timeoutMs: number): typeof fetch {
  return (input, init) => {
    const signals = [AbortSignal.timeout(timeoutMs)];
    if (init?.signal) signals.push(init.signal);
    if (input instanceof Request) signals.push(input.signal);
    return base(input, { ...init, signal: AbortSignal.any(signals) });
  };
}

/** A non-2xx answer from PostgREST that is not an outage: an internal error (500). Carries only
 * the PostgREST/SQLSTATE code and the HTTP status. PostgREST's message, details and hint can
 * quote user input or SQL, so they are dropped here and reach neither the client nor the logs. */
export class UpstreamError extends Error {
  constructor(readonly code: string | null, readonly status: number) {
    super(`The database API call failed (status ${status}${code ? `, code ${code}` : ""}).`);
    this.name = "UpstreamError";
  }
}

// Statuses of a gateway or proxy that could not reach PostgREST or the database; 0 is how
// postgrest-js reports a fetch that threw (network failure, abort, timeout).
const UNAVAILABLE_STATUS = new Set([0, 502, 503, 504]);
// PGRST000-003: database unreachable, pool unavailable or timed out.
const UNAVAILABLE_PGRST = /^PGRST00[0-3]$/;
// What a PostgREST or SQLSTATE code looks like; anything else is not carried.
const CODE_SHAPE = /^(PGRST\d{3}|[0-9A-Z]{5})$/;

/** The error to throw for a failed call: ApiError 503 for an outage, else UpstreamError. */
export function upstreamFailure(error: { code?: unknown } | null, status: number): Error {
  const code = typeof error?.code === "string" && CODE_SHAPE.test(error.code) ? error.code : null;
  if (
    UNAVAILABLE_STATUS.has(status) ||
    (code !== null && (UNAVAILABLE_PGRST.test(code) || isOutageSqlstate(code)))
  ) {
    return serviceUnavailable();
  }
  return new UpstreamError(code, status);
}

/** The supabase adapter: any SQL function through PostgREST (`POST /rest/v1/rpc/<fn>`, the named
 * arguments as the JSON body), one HTTP request per call, on one client per isolate (made with the
 * first call). */
export function createSupabaseDb(options: SupabaseClientOptions): GatewayDb {
  let client: Promise<PostgrestClient> | undefined;
  return {
    async call<T>(fn: string, args: Record<string, unknown>): Promise<T> {
      assertIdentifier(fn);
      for (const name of Object.keys(args)) assertIdentifier(name);
      client ??= createSupabaseClient(options);
      const { data, error, status } = await (await client).rpc(fn, args);
      if (error || status < 200 || status >= 300) throw upstreamFailure(error, status);
      return data as T;
    },
  };
}
