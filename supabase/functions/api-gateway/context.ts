import type { GatewayDb } from "./db/port.ts";
import type { Outcome } from "./kit/outcome.ts";
import type { UrlPolicy } from "./webhooks/url_policy.ts";
import type { Refusals } from "./kit/refusals.ts";

/** One JSON object per line. */
export type Logger = (entry: Record<string, unknown>) => void;

/** What the app is built from. Injected, never global, so tests choose the database. */
export interface AppDeps {
  db: GatewayDb;
  /** The request log; defaults to a JSON line on stdout. */
  log?: Logger;
  /** The time the database should take as "now" for keys and rate limits. Unset (production), the
   * database's own clock decides; tests set it to move time without sleeping. Never read from a
   * request. */
  clock?: () => Date;
  /** A path prefix the host serves the function under, before its base path, dropped when
   * routing: the dev server answers /functions/v1/api-gateway/... as the platform does (which
   * strips /functions/v1 itself, so production leaves this unset). */
  servedUnder?: string;
  /** Servers listed in the OpenAPI document besides the public URL template (the dev server
   * adds its own base). */
  servers?: { url: string; description: string }[];
  webhooks?: WebhookDeps;
}

/** Webhooks: where they may go, how they are sent, and who may ask for a dispatch. */
export interface WebhookDeps {
  /** Where endpoints may point (the dev server allows local receivers; tests inject a
   * resolver); https to public addresses, by the runtime's resolver, by default. */
  urlPolicy?: UrlPolicy;
  /** The fetch deliveries go through (tests inject one). */
  fetch?: typeof fetch;
  /** The secret the dispatch route requires (WEBHOOK_DISPATCH_SECRET, kept in Vault for
   * pg_cron); without one the route answers 404. */
  dispatchSecret?: string;
  /** How long one delivery may take (the dispatcher's 10 s; tests shorten it). */
  deliveryTimeoutMs?: number;
  /** How long the dispatch route claims for (8 s; tests on a loaded machine lengthen it). */
  dispatchBudgetMs?: number;
  /** WEBHOOK_SECRETS_KEYS, unparsed: the keys the signing secrets are encrypted under
   * (webhooks/secret_keys.ts parses it on first use). Unset, every webhook operation that needs a
   * secret fails loudly; the other endpoints work. */
  secretsKeys?: string;
}

/** The deps as the app holds them: the log resolved, and the app instance's own memory of keys
 * refused for their window (bounded: kit/refusals.ts). */
export type ResolvedDeps = AppDeps & { log: Logger; refusals: Refusals };

/** What a request carries through the app, besides Hono's own. */
export type AppEnv = {
  Variables: {
    requestId: string;
    deps: ResolvedDeps;
    /** The database's answer, once the request has made its one call. */
    outcome: Outcome;
    /** Why an unexpected error was answered 500, for the request's log line. */
    errorCause: Record<string, unknown>;
  };
};
