import type { PGlite } from "@electric-sql/pglite";
import type postgres from "postgres";
import {
  assertIdentifier,
  type GatewayDb,
  isOutageSqlstate,
} from "../supabase/functions/api-gateway/db/port.ts";
import { serviceUnavailable } from "../supabase/functions/api-gateway/errors.ts";

/** Runs one parameterised statement as the API role; rows come back as plain objects. */
export type Query = <T>(text: string, params: unknown[]) => Promise<T[]>;

/** The SQL adapter: the very SQL functions the supabase adapter reaches through PostgREST, called
 * with named arguments as PostgREST does, one statement per call. Not deployed. Arguments left
 * undefined are not passed, so the function's default applies (as when JSON omits them). */
export function createSqlDb(query: Query): GatewayDb {
  // Keyed by function and argument names, which come from route code, never from a request.
  const statements = new Map<string, string>();
  return {
    async call<T>(fn: string, args: Record<string, unknown>): Promise<T> {
      const names = Object.keys(args).filter((n) => args[n] !== undefined);
      const key = `${fn}(${names.join(",")})`;
      let text = statements.get(key);
      if (text === undefined) {
        assertIdentifier(fn);
        names.forEach(assertIdentifier);
        const named = names.map((n, i) => `${n} => $${i + 1}`).join(", ");
        text = `select public.${fn}(${named}) as result`;
        statements.set(key, text);
      }
      const rows = await query<{ result: T }>(text, names.map((n) => args[n]));
      return rows[0]?.result as T;
    },
  };
}

// postgres.js and Node's socket errors.
const UNAVAILABLE_DRIVER_CODES = new Set([
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown; name?: unknown };
  const code = typeof e?.code === "string" ? e.code : "";
  if (UNAVAILABLE_DRIVER_CODES.has(code) || isOutageSqlstate(code)) return true;
  // Deno surfaces some socket failures as its own error classes.
  return e?.name === "ConnectionRefused" || e?.name === "ConnectionReset" ||
    e?.name === "TimedOut";
}

async function mapUnavailable<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw isUnavailable(err) ? serviceUnavailable() : err;
  }
}

/** postgres.js; the pool's connections are opened as `role`, and its statements prepared as the
 * pool's `prepare` option says (see connectPostgres): `unsafe` alone never prepares. */
export function postgresJsQuery(sql: postgres.Sql): Query {
  const prepare = sql.options.prepare;
  return <T>(text: string, params: unknown[]) =>
    mapUnavailable(async () =>
      (await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[], {
        prepare,
      })) as unknown as T[]
    );
}

/** PGlite is one session shared with whoever set it up, so each call takes the API role for
 * its own transaction only. `role: null` keeps the session's own (owner) rights. */
export function pgliteQuery(db: PGlite, role: string | null = "service_role"): Query {
  if (role === null) {
    return async <T>(text: string, params: unknown[]) => (await db.query<T>(text, params)).rows;
  }
  return <T>(text: string, params: unknown[]) =>
    db.transaction(async (tx) => {
      await tx.exec(`set local role ${role}`);
      return (await tx.query<T>(text, params)).rows;
    });
}
