import type { PGlite } from "@electric-sql/pglite";
import type postgres from "postgres";
import { openPglite } from "../../local/pglite.ts";
import { connectPostgres } from "../../local/postgres.ts";
import { createSqlDb, pgliteQuery, postgresJsQuery, type Query } from "../../local/sql_db.ts";
import type { GatewayDb } from "../../supabase/functions/api-gateway/db/port.ts";
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

export type TargetKind = "pglite" | "postgres";
export const TARGET_KINDS: TargetKind[] = ["pglite", "postgres"];

const postgresSkip = postgresUnavailableReason();
if (postgresSkip) {
  console.error(
    `\n!!! Real-Postgres tests are IGNORED: ${postgresSkip}. Only PGlite runs. !!!\n`,
  );
}

/** Deno.test options for a target: ignored, loudly, when it cannot run here. */
export function targetTestOptions(kind: TargetKind) {
  return {
    ignore: kind === "postgres" && postgresSkip !== null,
    // Shared servers and pools outlive single tests by design.
    sanitizeResources: false,
    sanitizeOps: false,
  };
}

let pglite: Promise<{ target: DbTarget; pg: PGlite }> | undefined;
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
