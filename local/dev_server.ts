/**
 * Local gateway: `deno task dev [--data-dir <dir>]`. Serves the public URL shape of Supabase,
 * http://localhost:$PORT/functions/v1/api-gateway/v1/..., on embedded PGlite (in memory, or kept
 * in <dir>) or, with DATABASE_URL, on that Postgres (migrations already applied). Each start-up
 * phase prints its duration; the port is taken first, so a busy port fails before any slow work.
 *
 * In memory, the database is a migrated archive cached under .cache/pglite, keyed by the
 * migrations, seed, roles and PGlite version: the Supabase CLI (and the PGlite socket it talks
 * to) run only when those change. In <dir>, the database persists; new migrations are applied at
 * start, and `deno task keys --data-dir <dir>` reaches it (local/dev_data_dir.ts).
 */
import { parseArgs } from "node:util";
import type { PGlite } from "@electric-sql/pglite";
import { createApp } from "../supabase/functions/api-gateway/app.ts";
import { PLATFORM_PREFIX } from "../supabase/functions/api-gateway/paths.ts";
import { PERMISSIONS } from "../supabase/functions/api-gateway/permissions.ts";
import { createApiKey } from "./api_keys.ts";
import { watchLaunchers } from "./launchers.ts";
import { demoOrgId } from "./seed.ts";
import { TASK } from "./task_command.ts";
import { createSqlDb, pgliteQuery, postgresJsQuery, type Query } from "./sql_db.ts";

const started = performance.now();
const encoder = new TextEncoder();
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const out = (text: string) => Deno.stdout.writeSync(encoder.encode(text));

// ---- stopping: signals, a launcher gone, or a failed start ----

const stopping = new AbortController();
const cleanups: (() => Promise<unknown> | unknown)[] = [];
let lineOpen = false;

async function stop(code: number, message?: string): Promise<never> {
  if (stopping.signal.aborted) return await new Promise<never>(() => {});
  stopping.abort();
  if (lineOpen) out("\n");
  if (message) console.error(message);
  const all = (async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch { /* stopping anyway */ }
    }
  })();
  // Whatever hangs (a client holding a request open), the process ends.
  await Promise.race([all, new Promise((r) => setTimeout(r, 3_000))]);
  Deno.exit(code);
}

const signals: Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT", "SIGBREAK"]
  : ["SIGINT", "SIGTERM", "SIGHUP"];
for (const signal of signals) Deno.addSignalListener(signal, () => void stop(0));
watchLaunchers(() => void stop(0));

/** Runs one start-up phase, printing its label, then its duration on the same line. */
async function phase<T>(label: string, work: () => Promise<T>): Promise<T> {
  const t = performance.now();
  out(`${label}... `);
  lineOpen = true;
  let result: T;
  try {
    result = await work();
  } catch (err) {
    if (stopping.signal.aborted) return await new Promise<T>(() => {}); // a signal's doing
    return await stop(1, `dev: ${label} failed: ${(err as Error)?.message ?? err}`);
  }
  if (stopping.signal.aborted) return await new Promise<T>(() => {});
  out(`${seconds(performance.now() - t)}\n`);
  lineOpen = false;
  return result;
}

// ---- configuration ----

function parseCommandLine() {
  try {
    return parseArgs({
      args: Deno.args,
      options: { "data-dir": { type: "string" }, help: { type: "boolean", short: "h" } },
    }).values;
  } catch (err) {
    return stop(2, `dev: ${(err as Error).message} (usage: ${TASK} dev [--data-dir <dir>])`);
  }
}
const args = await parseCommandLine();
if (args.help) {
  console.log(
    `usage: ${TASK} dev [--data-dir <dir>]\n` +
      "  --data-dir <dir>  keep the embedded database in <dir> (default: in memory)\n" +
      "environment: PORT (54321), HOST (127.0.0.1), DATABASE_URL, DATABASE_ROLE",
  );
  Deno.exit(0);
}
const dataDir = args["data-dir"];
const databaseUrl = Deno.env.get("DATABASE_URL") || undefined;
const hostname = Deno.env.get("HOST") || "127.0.0.1";
const portText = Deno.env.get("PORT") || "54321";
const port = Number(portText);
if (!/^\d+$/.test(portText) || port > 65535) {
  await stop(2, `dev: PORT=${portText} is not a port number`);
}
if (dataDir !== undefined && databaseUrl) {
  await stop(2, "dev: --data-dir and DATABASE_URL exclude each other: unset one");
}
const base = `http://localhost:${port}${PLATFORM_PREFIX}`;

// ---- 1. the port, before anything slow ----

/** Requests that arrive during start-up wait for the app. */
let resolveApp!: (fetch: (req: Request) => Response | Promise<Response>) => void;
const appReady = new Promise<(req: Request) => Response | Promise<Response>>((r) => resolveApp = r);
const server = await phase(`listening on ${hostname}:${port}`, () => {
  try {
    return Promise.resolve(
      Deno.serve({ port, hostname, onListen: () => {} }, async (req) => (await appReady)(req)),
    );
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      return stop(
        1,
        `dev: port ${port} on ${hostname} is already in use. Stop what listens there, or choose ` +
          `another port: PORT=${port === 65535 ? 54322 : port + 1} ${TASK} dev`,
      );
    }
    return stop(1, `dev: cannot listen on ${hostname}:${port}: ${(err as Error).message}`);
  }
});
cleanups.push(() => server.shutdown());

// ---- 2. the database ----

interface Database {
  /** The gateway's statements (service_role). */
  query: Query;
  /** Table-owner rights: the demo key, `deno task keys`. */
  owner: Query;
  describe: string;
}

const database: Database = databaseUrl
  ? await openPostgres(databaseUrl)
  : dataDir !== undefined
  ? await openDataDir(dataDir)
  : await openInMemory();

async function openPostgres(url: string): Promise<Database> {
  const { connectPostgres } = await import("./postgres.ts");
  const role = Deno.env.get("DATABASE_ROLE") ?? "service_role";
  let host = "DATABASE_URL";
  try {
    host = new URL(url).host;
  } catch { /* postgres.js says what is wrong with it */ }
  return await phase(`database: connecting to Postgres at ${host}`, async () => {
    // postgres.js connects on first use: the probe is what finds an unreachable database.
    let sql, admin;
    try {
      sql = connectPostgres(url, { role: role === "" ? null : role });
      admin = connectPostgres(url, { role: null, max: 1 });
    } catch (err) {
      return await stop(1, `dev: DATABASE_URL is not a connection URL: ${(err as Error).message}`);
    }
    const pools = [sql, admin];
    cleanups.push(() => Promise.all(pools.map((p) => p.end({ timeout: 1 }))));
    try {
      await admin`select 1`;
    } catch (err) {
      const e = err as { code?: string; message?: string };
      const why = `${e.code ? `${e.code}: ` : ""}${String(e.message ?? err).split("\n")[0]}`;
      return await stop(1, `dev: cannot reach DATABASE_URL (${host}): ${why}`);
    }
    return {
      query: postgresJsQuery(sql),
      owner: postgresJsQuery(admin),
      describe: `Postgres at ${host} (statements as ${role || "login role"})`,
    };
  });
}

/** The migrated archive: cached, or built now by the Supabase CLI. */
async function archive(): Promise<Uint8Array<ArrayBuffer>> {
  const { buildArchive, cachedArchive } = await import("./pglite.ts");
  return await cachedArchive() ?? await phase(
    "database: migrating a new PGlite with the Supabase CLI (first start, or the migrations " +
      "changed)",
    () => buildArchive(stopping.signal),
  );
}

function embedded(pg: PGlite, describe: string): Database {
  cleanups.push(() => pg.close());
  return { query: pgliteQuery(pg), owner: pgliteQuery(pg, null), describe };
}

async function openInMemory(): Promise<Database> {
  const dump = await archive();
  const { pgliteFromDump } = await import("./pglite.ts");
  const pg = await phase("database: loading the migrated PGlite", () => pgliteFromDump(dump));
  return embedded(pg, "embedded PGlite, in memory (migrations + supabase/seed.sql applied)");
}

async function openDataDir(dir: string): Promise<Database> {
  const { exists, migrateDataDir, openPgliteDir, pendingMigrations } = await import(
    "./pglite.ts"
  );
  const { forgetAdmin, holdDataDir, pgdataOf, serveAdmin } = await import("./dev_data_dir.ts");
  const held = await holdDataDir(dir);
  if (!held) {
    return await stop(1, `dev: ${dir} is in use by another dev server or keys command`);
  }
  cleanups.push(() => held.release());
  await forgetAdmin(dir);
  const pgdata = pgdataOf(dir);
  let pg: PGlite;
  if (await exists(`${pgdata}/PG_VERSION`)) {
    pg = await phase(`database: opening PGlite in ${dir}`, () => openPgliteDir(pgdata));
    const pending = await pendingMigrations(pg);
    if (pending.length > 0) {
      await pg.close();
      await phase(
        `database: applying ${pending.length} new migration${pending.length > 1 ? "s" : ""} ` +
          `with the Supabase CLI (${pending.join(", ")})`,
        () => migrateDataDir(pgdata, stopping.signal),
      );
      pg = await openPgliteDir(pgdata);
    }
  } else {
    const dump = await archive();
    pg = await phase(
      `database: creating PGlite in ${dir} from the migrated archive`,
      () => openPgliteDir(pgdata, () => Promise.resolve(dump)),
    );
  }
  const db = embedded(pg, `embedded PGlite in ${dir} (kept between starts)`);
  const admin = await serveAdmin(dir, db.owner);
  cleanups.push(() => admin.close());
  return db;
}

// ---- 3. the demo key ----

/** The demo org is the first org supabase/seed.sql inserts; its first company and contacts come
 * from the database. */
async function demoTarget(owner: Query) {
  const orgId = await demoOrgId();
  if (!orgId) return null;
  const [row] = await owner<{ name: string; company_id: string | null; contact_ids: string[] }>(
    `select o.name,
            (select c.id from public.companies c where c.org_id = o.id order by c.id limit 1)
              as company_id,
            array(select ct.id from public.contacts ct where ct.org_id = o.id
                  order by ct.id limit 2) as contact_ids
     from public.orgs o where o.id = $1`,
    [orgId],
  );
  return row ? { orgId, ...row } : null;
}

const demo = await phase("demo key: minting a key for the seed's demo org", async () => {
  const target = await demoTarget(database.owner);
  if (!target) return null;
  const key = await createApiKey(database.owner, {
    orgId: target.orgId,
    name: `deno task dev ${new Date().toISOString()}`,
    // Every permission, so each endpoint can be tried with the one key the banner shows.
    permissions: [...PERMISSIONS],
  });
  return { ...target, key };
});

// Supabase serves the function under /functions/v1 and hands it /api-gateway/...; the app routes
// the same way by dropping that prefix (no copy of each Request).
const app = createApp({
  db: createSqlDb(database.query),
  servedUnder: PLATFORM_PREFIX,
  servers: [{ url: base, description: "this dev server (deno task dev)" }],
});
resolveApp(app.fetch);

const gateway = `${base}/api-gateway`;
const lines = [
  `ready in ${seconds(performance.now() - started)}: api-gateway on ${gateway}`,
  `database: ${database.describe}`,
  `OpenAPI: ${gateway}/v1/openapi.json`,
];
if (dataDir !== undefined && demo) {
  lines.push(`keys: ${TASK} keys --data-dir ${dataDir} list --org ${demo.orgId}`);
}
if (!demo) {
  console.error(
    "dev: the demo org of supabase/seed.sql is not in this database, so no demo key was minted " +
      `(apply the seed, or mint one with ${TASK} keys create)`,
  );
} else {
  lines.push(
    "",
    `A new API key for the demo org "${demo.name}" (${PERMISSIONS.join(", ")}). ` +
      "It is shown only this once:",
    `  ${demo.key.plaintext}`,
  );
  if (demo.company_id) {
    lines.push(
      "",
      "Try it:",
      `curl -sS -X POST ${gateway}/v1/companies/${demo.company_id}/contacts/link \\`,
      `  -H "Authorization: Bearer ${demo.key.plaintext}" \\`,
      `  -H "Content-Type: application/json" \\`,
      `  -d '{"contact_ids": ["${demo.contact_ids.join('", "')}"]}'`,
    );
  }
}
console.log(lines.join("\n") + "\n");
