import { openPglite } from "../../local/pglite.ts";
import { connectPostgres } from "../../local/postgres.ts";
import { createSqlDb, pgliteQuery, postgresJsQuery, type Query } from "../../local/sql_db.ts";
import { readConfig } from "../../supabase/functions/api-gateway/config.ts";
import type { GatewayDb } from "../../supabase/functions/api-gateway/db/port.ts";
import {
  createSupabaseClient,
  createSupabaseDb,
} from "../../supabase/functions/api-gateway/db/supabase.ts";
import { type PgServer, postgresUnavailableReason, startPostgres } from "./postgres_server.ts";

/** A real database the app tests run against, with the SQL adapter the dev server uses. */
export interface DbTarget {
  kind: TargetKind;
  /** The gateway's adapter: statements run as service_role, like PostgREST's. */
  db: GatewayDb;
  /** Table-owner access for fixtures and assertions about the stored state. */
  owner: Query;
  /** Present on real Postgres: stop/start it to inject faults. */
  server?: PgServer;
}

/** "supabase": the deployed adapter (supabase-js → PostgREST) against a real Supabase stack,
 * when SUPABASE_URL, its service key and SUPABASE_DB_URL (for fixtures) are set. */
export type TargetKind = "pglite" | "postgres" | "supabase";
export const TARGET_KINDS: TargetKind[] = ["pglite", "postgres", "supabase"];

const postgresSkip = postgresUnavailableReason();
if (postgresSkip) {
  console.error(
    `\n!!! Real-Postgres tests are IGNORED: ${postgresSkip}. Only PGlite runs. !!!\n`,
  );
}
const supabaseSkip = Deno.env.get("SUPABASE_URL") && Deno.env.get("SUPABASE_DB_URL")
  ? null
  : "SUPABASE_URL and SUPABASE_DB_URL are not set (PostgREST cannot run on this machine)";
if (supabaseSkip) {
  console.error(
    `\n!!! Suites against a real Supabase stack are IGNORED: ${supabaseSkip}. ` +
      "The supabase adapter is covered by tests/contract. !!!\n",
  );
}

/** Deno.test options for a target: ignored, loudly, when it cannot run here. */
export function targetTestOptions(kind: TargetKind) {
  return {
    ignore: (kind === "postgres" && postgresSkip !== null) ||
      (kind === "supabase" && supabaseSkip !== null),
    // Shared servers and pools outlive single tests by design.
    sanitizeResources: false,
    sanitizeOps: false,
  };
}

const cache = new Map<TargetKind, Promise<DbTarget>>();

/** One database of each kind per test process; tests isolate themselves by creating their
 * own orgs, never by relying on an empty database. */
export function getTarget(kind: TargetKind): Promise<DbTarget> {
  let target = cache.get(kind);
  if (!target) {
    target = open(kind);
    cache.set(kind, target);
  }
  return target;
}

async function open(kind: TargetKind): Promise<DbTarget> {
  if (kind === "pglite") {
    const pg = await openPglite();
    return { kind, db: createSqlDb(pgliteQuery(pg)), owner: pgliteQuery(pg, null) };
  }
  if (kind === "supabase") {
    const config = readConfig((name) => Deno.env.get(name));
    const admin = connectPostgres(Deno.env.get("SUPABASE_DB_URL")!, { role: null, max: 5 });
    const client = createSupabaseClient({ url: config.supabaseUrl, serviceKey: config.serviceKey });
    return { kind, db: createSupabaseDb(client), owner: postgresJsQuery(admin) };
  }
  const server = await startPostgres();
  // The server is a separate process and must not outlive the test run, however it ends.
  globalThis.addEventListener("unload", () => server.destroySync());
  return {
    kind,
    db: createSqlDb(postgresJsQuery(connectPostgres(server.url, { max: 20 }))),
    owner: postgresJsQuery(connectPostgres(server.url, { role: null, max: 5 })),
    server,
  };
}
