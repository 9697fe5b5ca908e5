/** What the gateway needs from the database: one call of a named SQL function with named
 * arguments, in one round trip and one transaction, answering the function's JSON. Every endpoint
 * goes through it; adding one adds nothing here.
 *
 * Adapters: ./supabase.ts (deployed: PostgREST's POST /rest/v1/rpc/<fn>) and local/sql_db.ts (dev
 * server, tests, benchmarks: `select public.<fn>(p_a => $1, ...)`). Both throw ApiError 503 when
 * the database cannot be reached, and nothing else of their own. */
export interface GatewayDb {
  call<T = unknown>(fn: string, args: Record<string, unknown>): Promise<T>;
}

/** Function and argument names are interpolated into SQL by the SQL adapter and into the URL by
 * PostgREST: both adapters refuse anything but plain lowercase identifiers. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertIdentifier(name: string): void {
  if (!IDENTIFIER.test(name)) throw new TypeError(`not a plain SQL identifier: ${name}`);
}

// SQLSTATEs that mean "the database is not there right now", whichever adapter saw them:
// connection exceptions (08), shutdown and restart (57P01-57P03), too many connections,
// statement and lock timeouts (the SQL functions bound both; a wait in the org's own queue is
// not one of these: api_authorize answers it as the outcome "busy", a 429).
const OUTAGE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[1-3]|53300|57014|55P03)$/;

export function isOutageSqlstate(code: string): boolean {
  return OUTAGE_SQLSTATE.test(code);
}
