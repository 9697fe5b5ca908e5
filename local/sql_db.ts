import type { PGlite } from "@electric-sql/pglite";
import type postgres from "postgres";
import {
  type AuthenticateRow,
  type GatewayDb,
  isOutageSqlstate,
  type LinkRow,
  toApiKeyContext,
  toLinkResult,
} from "../supabase/functions/api-gateway/db/port.ts";
import { serviceUnavailable } from "../supabase/functions/api-gateway/errors.ts";

/** Runs one parameterised statement as the API role; rows come back as plain objects. */
export type Query = <T>(text: string, params: unknown[]) => Promise<T[]>;

/** The SQL adapter: the very SQL functions the supabase adapter reaches through PostgREST,
 * called with named arguments as PostgREST does. Not deployed. */
export function createSqlDb(query: Query): GatewayDb {
  return {
    async authenticate(keyHash) {
      const rows = await query<AuthenticateRow>(
        "select * from public.authenticate_api_key(p_key_hash => $1)",
        [keyHash],
      );
      return toApiKeyContext(rows[0]);
    },
    async touchApiKey(keyId) {
      await query("select public.touch_api_key(p_key_id => $1::uuid)", [keyId]);
    },
    async linkContacts(orgId, companyId, contactIds) {
      const rows = await query<{ result: LinkRow }>(
        "select public.link_contacts_to_company(p_org_id => $1::uuid, p_company_id => $2::uuid, " +
          "p_contact_ids => $3::uuid[]) as result",
        [orgId, companyId, contactIds],
      );
      return toLinkResult(rows[0]?.result);
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

/** postgres.js; the pool's connections are opened as `role` (see connectPostgres). */
export function postgresJsQuery(sql: postgres.Sql): Query {
  return <T>(text: string, params: unknown[]) =>
    mapUnavailable(async () =>
      (await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[])) as unknown as T[]
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
