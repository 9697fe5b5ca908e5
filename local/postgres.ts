import postgres from "postgres";

/**
 * postgres.js 3.4 fetches the array types on each new connection in a promise nobody awaits
 * (src/connection.js, `return fetchArrayTypes()` from its ReadyForQuery handler). When Postgres
 * drops a connection during that query (a restart or a shutdown under traffic), the query that
 * opened the connection fails as it should (the gateway answers 503), but the types query's
 * rejection is unhandled, and Deno ends the process on an unhandled rejection: the dev server died
 * with `error: Uncaught (in promise) Error: read ECONNRESET` (the db_faults flake). Only that
 * orphan is taken here, recognised by the query postgres.js attaches to its errors; every other
 * unhandled rejection stays fatal.
 */
function isOrphanTypesFetch(reason: unknown): boolean {
  const query = (reason as { query?: unknown } | null)?.query;
  return typeof query === "string" && query.includes("typarray") && query.includes("pg_type");
}

let guarded = false;
function guardTypesFetch(): void {
  if (guarded) return;
  guarded = true;
  globalThis.addEventListener("unhandledrejection", (event) => {
    if (isOrphanTypesFetch(event.reason)) event.preventDefault();
  });
}

/** postgres.js, with its orphaned types fetch guarded: every pool and one-off connection of this
 * repository is made here. */
export function pgClient(url: string, options: postgres.Options<Record<string, never>> = {}) {
  guardTypesFetch();
  return postgres(url, options);
}

export interface ConnectOptions {
  /** Role the gateway's statements run as; null keeps the login role. */
  role?: string | null;
  max?: number;
  /** "prompt" (the dev server's gateway): an unreachable or stuck database answers 503 within
   * seconds. "patient" (the keys CLI, the test suites' pools): waits that a loaded machine can
   * stretch (a busy core, an embedded PGlite computing on the caller's thread) are not failures;
   * the functions still bound their own lock waits. */
  waits?: "prompt" | "patient";
  /** Statements prepared once per connection (named, as PostgREST prepares them), not parsed and
   * planned on every call: ~10% of Postgres's CPU a gateway call (docs/benchmarks.md). postgres.js
   * prepares again after a DEALLOCATE ALL or DISCARD ALL. False for a client of a few statements
   * (the keys and secrets CLIs), which then works through a transaction-mode pooler too. */
  prepare?: boolean;
}

const WAITS = {
  prompt: { connect_timeout: 3, idle_timeout: 30, statement_timeout: 5_000, lock_timeout: 5_000 },
  patient: {
    connect_timeout: 30,
    idle_timeout: 0,
    statement_timeout: 60_000,
    lock_timeout: 30_000,
  },
};

/** A postgres.js pool with bounded waits. */
export function connectPostgres(url: string, options: ConnectOptions = {}): postgres.Sql {
  const role = options.role === undefined ? "service_role" : options.role;
  const waits = WAITS[options.waits ?? "prompt"];
  return pgClient(url, {
    max: options.max ?? 10,
    connect_timeout: waits.connect_timeout,
    idle_timeout: waits.idle_timeout,
    prepare: options.prepare ?? true,
    onnotice: () => {},
    connection: {
      statement_timeout: waits.statement_timeout,
      lock_timeout: waits.lock_timeout,
      ...(role ? { role } : {}),
    },
  });
}
