import type { PGlite } from "@electric-sql/pglite";
import type postgres from "postgres";
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

let pglite: Promise<{ target: DbTarget; pg: PGlite }> | undefined;
let supabase: Promise<DbTarget> | undefined;
let server: Promise<{ target: DbTarget; sql: postgres.Sql; admin: postgres.Sql }> | undefined;

/** One database of each kind per test process; tests isolate themselves by creating their
 * own orgs, never by relying on an empty database. */
export function getTarget(kind: TargetKind): Promise<DbTarget> {
  if (kind === "pglite") {
    pglite ??= openPglite().then((pg) => ({
      pg,
      target: {
        kind,
        db: createSqlDb(pgliteQuery(pg)),
        owner: async <T>(text: string, params: unknown[]) => (await pg.query<T>(text, params)).rows,
      },
    }));
    return pglite.then((p) => p.target);
  }
  if (kind === "supabase") {
    supabase ??= Promise.resolve().then((): DbTarget => {
      const config = readConfig((name) => Deno.env.get(name));
      const admin = connectPostgres(Deno.env.get("SUPABASE_DB_URL")!, { role: null, max: 5 });
      return {
        kind,
        db: createSupabaseDb(
          createSupabaseClient({ url: config.supabaseUrl, serviceKey: config.serviceKey }),
        ),
        owner: postgresJsQuery(admin),
      };
    });
    return supabase;
  }
  server ??= startPostgres().then((srv) => {
    const sql = connectPostgres(srv.url, { max: 20 });
    const admin = connectPostgres(srv.url, { role: null, max: 5 });
    // The server is a separate process and must not outlive the test run, however it ends.
    globalThis.addEventListener("unload", () => srv.destroySync());
    return {
      sql,
      admin,
      target: {
        kind,
        db: createSqlDb(postgresJsQuery(sql)),
        owner: postgresJsQuery(admin),
        server: srv,
      },
    };
  });
  return server.then((s) => s.target);
}
