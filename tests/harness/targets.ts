import { pgClient } from "../../local/postgres.ts";
import { buildArchive, cachedArchive, pgliteFromDump } from "../../local/pglite.ts";
import { connectPostgres } from "../../local/postgres.ts";
import { createSqlDb, pgliteQuery, postgresJsQuery, type Query } from "../../local/sql_db.ts";
import { readConfig } from "../../supabase/functions/api-gateway/config.ts";
import type { GatewayDb } from "../../supabase/functions/api-gateway/db/port.ts";
import { createSupabaseDb } from "../../supabase/functions/api-gateway/db/supabase.ts";
import {
  type PgServer,
  postgresUnavailableReason,
  startPostgres,
} from "../../local/postgres_server.ts";

/** A real database the tests run against, with the SQL adapter the dev server uses. */
export interface DbTarget {
  kind: TargetKind;
  /** The gateway's adapter: statements run as service_role, like PostgREST's. */
  db: GatewayDb;
  /** Table-owner access for fixtures and assertions about the stored state. */
  owner: Query;
  /** The owner is a single session (PGlite's one), so statements prepared through it stay. */
  oneSession: boolean;
  /** Postgres: the owner URL of this target's own database (a clone). */
  url?: string;
  /** Closes the target's connections (its database is dropped with the run's server). */
  close(): Promise<void>;
}

/** "supabase": the deployed adapter (postgrest-js → PostgREST) against a real Supabase stack,
 * when SUPABASE_URL, its service key and SUPABASE_DB_URL (for fixtures) are set. */
export type TargetKind = "pglite" | "postgres" | "supabase";
/** Every target, or those GATEWAY_TEST_TARGETS names (the quick loop: "pglite"). */
export const TARGET_KINDS: TargetKind[] = (["pglite", "postgres", "supabase"] as const).filter(
  (kind) => (Deno.env.get("GATEWAY_TEST_TARGETS")?.split(",") ?? [kind]).includes(kind),
);

export const postgresSkip = postgresUnavailableReason();
const supabaseSkip = Deno.env.get("SUPABASE_URL") && Deno.env.get("SUPABASE_DB_URL")
  ? null
  : "SUPABASE_URL and SUPABASE_DB_URL are not set (PostgREST cannot run on this machine)";
// Said once per run by tests/run.ts; a file run on its own says it itself.
if (!Deno.env.get("GATEWAY_TEST_RUN")) {
  if (postgresSkip) {
    console.error(
      `\n!!! Real-Postgres tests are IGNORED: ${postgresSkip}. Only PGlite runs. !!!\n`,
    );
  }
  if (supabaseSkip) {
    console.error(
      `\n!!! Suites against a real Supabase stack are IGNORED: ${supabaseSkip}. ` +
        "The supabase adapter is covered by tests/contract. !!!\n",
    );
  }
}

/** Deno.test options for a target: ignored, loudly, when it cannot run here, and when the run
 * leaves it out (GATEWAY_TEST_TARGETS: the quick loop says so as it starts). */
export function targetTestOptions(kind: TargetKind) {
  return {
    ignore: !TARGET_KINDS.includes(kind) || (kind === "postgres" && postgresSkip !== null) ||
      (kind === "supabase" && supabaseSkip !== null),
    // Pools and embedded databases outlive single steps by design.
    sanitizeResources: false,
    sanitizeOps: false,
  };
}

/** A fresh database for the caller: a clone of the run's migrated and seeded database (PGlite
 * from its archive, Postgres by CREATE DATABASE ... TEMPLATE), so tests never share state and
 * nothing is migrated twice. The Supabase stack is shared: tests isolate by their own orgs. */
export function getTarget(kind: TargetKind): Promise<DbTarget> {
  if (kind === "pglite") return pgliteTarget();
  if (kind === "postgres") return postgresTarget();
  return supabaseTarget();
}

// ---- PGlite ----

let pgliteDump: Promise<Uint8Array<ArrayBuffer>> | undefined;
function runPgliteDump(): Promise<Uint8Array<ArrayBuffer>> {
  const path = Deno.env.get("GATEWAY_TEST_PGLITE_DUMP");
  pgliteDump ??= path
    ? Deno.readFile(path) as Promise<Uint8Array<ArrayBuffer>>
    : cachedArchive().then((dump) => dump ?? buildArchive());
  return pgliteDump;
}

/** A new PGlite holding the run's migrated and seeded database. */
export async function freshPglite() {
  return await pgliteFromDump(await runPgliteDump());
}

async function pgliteTarget(): Promise<DbTarget> {
  const pg = await freshPglite();
  return {
    kind: "pglite",
    oneSession: true,
    db: createSqlDb(pgliteQuery(pg)),
    owner: pgliteQuery(pg, null),
    close: () => pg.close(),
  };
}

// ---- Postgres 15 ----

/** The run's shared server (tests/run.ts names it in GATEWAY_TEST_PG_URL), or one started per
 * process from the golden copy. Clones are made from its `postgres` database, which nothing
 * else connects to. */
let sharedServer: Promise<string> | undefined;
function sharedServerUrl(): Promise<string> {
  const given = Deno.env.get("GATEWAY_TEST_PG_URL");
  sharedServer ??= given ? Promise.resolve(given) : startPostgres().then((s: PgServer) => s.url);
  return sharedServer;
}

/** A new database on the shared server, copied from the migrated one; its owner URL. */
export async function clonePostgres(): Promise<string> {
  const url = new URL(await sharedServerUrl());
  url.pathname = "/template1";
  const admin = pgClient(url.toString(), { max: 1, onnotice: () => {} });
  const name = `t_${crypto.randomUUID().replaceAll("-", "")}`;
  try {
    await admin.unsafe(`create database ${name} template postgres`);
  } finally {
    await admin.end();
  }
  url.pathname = `/${name}`;
  return url.toString();
}

async function postgresTarget(): Promise<DbTarget> {
  const url = await clonePostgres();
  // Patient: a test's verdict must not depend on how loaded the machine is (the timeouts a test
  // is about, it sets itself).
  const api = connectPostgres(url, { max: 8, waits: "patient" });
  const owner = connectPostgres(url, { role: null, max: 3, waits: "patient" });
  return {
    kind: "postgres",
    oneSession: false,
    db: createSqlDb(postgresJsQuery(api)),
    owner: postgresJsQuery(owner),
    url,
    close: () => Promise.all([api.end(), owner.end()]).then(() => {}),
  };
}

// ---- a real Supabase stack ----

function supabaseTarget(): Promise<DbTarget> {
  const config = readConfig((name) => Deno.env.get(name));
  const admin = connectPostgres(Deno.env.get("SUPABASE_DB_URL")!, { role: null, max: 5 });
  return Promise.resolve({
    kind: "supabase",
    oneSession: false,
    db: createSupabaseDb({ url: config.supabaseUrl, serviceKey: config.serviceKey }),
    owner: postgresJsQuery(admin),
    close: () => admin.end(),
  });
}
