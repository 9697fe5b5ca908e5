import type { GatewayDb } from "./db/port.ts";
import type { Outcome } from "./kit/outcome.ts";
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
