/**
 * Local gateway: `deno task dev [--data-dir <dir>]`. Serves the public URL shape of Supabase,
 * http://localhost:$PORT/functions/v1/api-gateway/v1/..., on embedded PGlite (in memory, or kept
 * in <dir>) or, with DATABASE_URL, on that Postgres (migrations already applied). Each start-up
 * phase prints its duration; the ports are tried first, so a busy port fails before any slow work,
 * with a free port to use instead. The banner's "ready in" counts from the moment the command
 * began (npx's download of Deno and Deno's of the packages included); a stop says in one line
 * what it did with the demo key and the database.
 *
 * In memory, the database is a migrated archive cached under .cache/pglite, keyed by the
 * migrations, seed, roles and PGlite version: the Supabase CLI (and the PGlite socket it talks
 * to) run only when those change. In <dir>, the database persists; new migrations are applied at
 * start.
 *
 * Whatever the mode, the banner prints the database as a postgresql:// URL, the one path for
 * `deno task keys`, psql and any client while the server runs: DATABASE_URL itself, or the
 * embedded PGlite served on 127.0.0.1:$DB_PORT (local/pglite_socket.ts, which also keeps the
 * gateway's statements and a client's transaction apart).
 */
import { parseArgs } from "node:util";
import type { PGlite } from "@electric-sql/pglite";
import { createApp, jsonLineLogger } from "../supabase/functions/api-gateway/app.ts";
import { PLATFORM_PREFIX } from "../supabase/functions/api-gateway/paths.ts";
import { PERMISSIONS } from "../supabase/functions/api-gateway/permissions.ts";
import { type DemoKey, LIFETIME_MINUTES, mintDemoKey, RENEW_EVERY_MS } from "./demo_key.ts";
import { runtimeResolver } from "../supabase/functions/api-gateway/webhooks/url_policy.ts";
import {
  keyringOf,
  newKeyEntry,
  SECRETS_KEYS_VARIABLE,
} from "../supabase/functions/api-gateway/webhooks/secret_keys.ts";
import { startDispatcher } from "./dev_dispatcher.ts";
import { startedAgo, watchLaunchers } from "./launchers.ts";
import { TASK } from "./task_command.ts";
import { createSqlDb, pgliteQuery, postgresJsQuery, type Query } from "./sql_db.ts";

const encoder = new TextEncoder();
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const out = (text: string) => Deno.stdout.writeSync(encoder.encode(text));

// ---- stopping: signals, a launcher gone, or a failed start ----

const stopping = new AbortController();
const cleanups: (() => Promise<unknown> | unknown)[] = [];
let lineOpen = false;
/** What the stop line says was done with the demo key and the database: set when each exists
 * (to what a stop that never finished its clean-up leaves), then by its clean-up. */
const outcome: { key?: string; database?: string } = {};

/** Stops: `message` (an error) on stderr, then the clean-up, then, once there was something to
 * clean up or a signal asked, one line on stdout saying what was done. */
async function stop(code: number, message?: string, cause?: string): Promise<never> {
  if (stopping.signal.aborted) return await new Promise<never>(() => {});
  stopping.abort();
  // An open phase line is closed as what it is: the error, if any, is a line of its own.
  if (lineOpen) out(code === 0 ? "interrupted\n" : "failed\n");
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
  const done = [outcome.key, outcome.database].filter(Boolean);
  if (cause || done.length > 0) {
    out(
      `stopped${cause ? ` (${cause})` : ""}: ${
        done.join("; ") || "before the database was opened"
      }\n`,
    );
  }
  Deno.exit(code);
}

const signals: Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT", "SIGBREAK"]
  : ["SIGINT", "SIGTERM", "SIGHUP"];
for (const signal of signals) Deno.addSignalListener(signal, () => void stop(0, undefined, signal));
watchLaunchers(() => void stop(0, undefined, "the command that started it ended"));

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
      "environment: PORT (54321), HOST (127.0.0.1), DB_PORT (54322: the embedded database, on " +
      "127.0.0.1; 0 for any free port), DATABASE_URL, DATABASE_ROLE, WEBHOOK_DISPATCH (on; off: " +
      "no webhook is delivered), WEBHOOK_DISPATCH_SECRET (serve the dispatch route with it, " +
      "the dispatcher off), WEBHOOK_SECRETS_KEYS (default: the data directory's own, or a " +
      "fresh key)",
  );
  Deno.exit(0);
}
const dataDir = args["data-dir"];
const databaseUrl = Deno.env.get("DATABASE_URL") || undefined;
const hostname = Deno.env.get("HOST") || "127.0.0.1";
function portFrom(name: string, fallback: string): Promise<number> | number {
  const text = Deno.env.get(name) || fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > 65535) {
    return stop(2, `dev: ${name}=${text} is not a port number`);
  }
  return value;
}
const port = await portFrom("PORT", "54321");
// Supabase's local database port (`supabase start`), for the embedded database's socket.
const dbPort = await portFrom("DB_PORT", "54322");
if (dataDir !== undefined && databaseUrl) {
  await stop(2, "dev: --data-dir and DATABASE_URL exclude each other: unset one");
}
const base = `http://localhost:${port}${PLATFORM_PREFIX}`;

// ---- 1. the ports, before anything slow ----

/** The embedded database's port, when this server will take one of its own choosing. */
const ownDbPort = !databaseUrl && dbPort !== 0 ? dbPort : null;
const mine = ownDbPort === null ? [port] : [port, ownDbPort];

function isFree(host: string, candidate: number): boolean {
  try {
    Deno.listen({ hostname: host, port: candidate }).close();
    return true;
  } catch {
    return false;
  }
}

/** A port free on `host` right now, from `from` upwards, that this server is not about to take
 * (`avoid`): advice to follow, not a port to collide with next. */
function freePortFrom(from: number, host: string, avoid: number[]): number {
  for (let p = from; p <= Math.min(from + 100, 65535); p++) {
    if (!avoid.includes(p) && isFree(host, p)) return p;
  }
  for (;;) {
    const listener = Deno.listen({ hostname: host, port: 0 });
    const p = (listener.addr as Deno.NetAddr).port;
    listener.close();
    if (!avoid.includes(p)) return p;
  }
}

/** The command to copy: the suggested ports, with the user's own PORT, DB_PORT, HOST and
 * arguments as given (never DATABASE_URL: it may hold a password). */
function commandWith(ports: Record<string, number>): string {
  const quote = (v: string) => /^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replaceAll("'", `'\\''`)}'`;
  const vars: string[] = [];
  for (const name of ["HOST", "PORT", "DB_PORT"]) {
    const value = ports[name] !== undefined ? String(ports[name]) : Deno.env.get(name);
    if (value) vars.push(`${name}=${quote(value)}`);
  }
  return [...vars, TASK, "dev", ...Deno.args.map(quote)].join(" ");
}

interface Taken {
  name: "PORT" | "DB_PORT";
  port: number;
  host: string;
}

/** One line: which ports are in use, and free ones to use instead (each different from the
 * other port this server takes). */
function portsTaken(taken: Taken[]): Promise<never> {
  const avoid = [...mine];
  const advice: Record<string, number> = {};
  for (const t of taken) {
    advice[t.name] = freePortFrom(t.port + 1, t.host, avoid);
    avoid.push(advice[t.name]);
  }
  const where = taken.map((t) => `port ${t.port} on ${t.host} (${t.name})`).join(" and ");
  return stop(
    1,
    `dev: ${where} ${taken.length > 1 ? "are" : "is"} already in use. Stop what listens there, ` +
      `or choose ${taken.length > 1 ? "other ports" : "another port"}: ${commandWith(advice)}`,
  );
}

if (ownDbPort === port) {
  await stop(
    1,
    `dev: PORT and DB_PORT are both ${port}: the gateway and its database need a port each. ` +
      `Choose another: ${commandWith({ DB_PORT: freePortFrom(port + 1, "127.0.0.1", [port]) })}`,
  );
}
// Both ports tried before any line is printed: one message names every busy one.
{
  const busy: Taken[] = [];
  if (!isFree(hostname, port)) busy.push({ name: "PORT", port, host: hostname });
  if (ownDbPort !== null && !isFree("127.0.0.1", ownDbPort)) {
    busy.push({ name: "DB_PORT", port: ownDbPort, host: "127.0.0.1" });
  }
  if (busy.length > 0) await portsTaken(busy);
}

/** Requests that arrive during start-up wait for the app. */
let resolveApp!: (fetch: (req: Request) => Response | Promise<Response>) => void;
const appReady = new Promise<(req: Request) => Response | Promise<Response>>((r) => resolveApp = r);
const server = await phase(`listening on ${hostname}:${port}`, () => {
  try {
    return Promise.resolve(
      Deno.serve({ port, hostname, onListen: () => {} }, async (req) => (await appReady)(req)),
    );
  } catch (err) {
    // Taken since it was tried, a moment ago.
    if (err instanceof Deno.errors.AddrInUse) {
      return portsTaken([{ name: "PORT", port, host: hostname }]);
    }
    return stop(1, `dev: cannot listen on ${hostname}:${port}: ${(err as Error).message}`);
  }
});
cleanups.push(() => server.shutdown());

// ---- 2. the database ----

interface Database {
  /** The gateway's statements (service_role). */
  query: Query;
  /** Table-owner rights: the demo key. */
  owner: Query;
  describe: string;
  /** What the banner prints: DATABASE_URL, or the embedded database's socket (section 4). */
  url: string;
  /** Embedded: the database is this process's alone (see local/demo_key.ts). */
  embedded?: PGlite;
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
    outcome.database = `the connections to Postgres at ${host} not confirmed closed`;
    cleanups.push(async () => {
      await Promise.all(pools.map((p) => p.end({ timeout: 1 })));
      outcome.database = `the connections to Postgres at ${host} closed, its data untouched`;
    });
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
      describe: `Postgres at ${host}, statements as ${role || "the login role"}`,
      url,
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
  const kept = dataDir === undefined ? "" : ` and kept in ${dataDir}`;
  outcome.database = `the database not confirmed closed${kept}`;
  cleanups.push(async () => {
    await pg.close();
    outcome.database = kept
      ? `the database closed${kept}`
      : "the in-memory database closed, its data discarded";
  });
  // Not yet shared: the socket opens once the demo key exists (section 4).
  return { query: pgliteQuery(pg), owner: pgliteQuery(pg, null), describe, url: "", embedded: pg };
}

async function openInMemory(): Promise<Database> {
  const dump = await archive();
  const { pgliteFromDump } = await import("./pglite.ts");
  const pg = await phase("database: loading the migrated PGlite", () => pgliteFromDump(dump));
  return embedded(pg, "embedded PGlite, in memory: migrations + supabase/seed.sql applied");
}

async function openDataDir(dir: string): Promise<Database> {
  const { exists, migrateDataDir, openPgliteDir, pendingMigrations } = await import(
    "./pglite.ts"
  );
  const { holdDataDir, pgdataOf } = await import("./dev_data_dir.ts");
  const held = await holdDataDir(dir);
  if (!held) return await stop(1, `dev: ${dir} is in use by another dev server`);
  cleanups.push(() => held.release());
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
  return embedded(pg, `embedded PGlite in ${dir}, kept between starts`);
}

// ---- 3. the demo key (local/demo_key.ts: it lives while this server runs) ----

const demo: DemoKey | null = await phase(
  "demo key: minting a key for the seed's demo org",
  () => mintDemoKey(database.owner, { revokeEarlier: database.embedded !== undefined }),
);
if (demo) {
  // Pushed before the socket's stop, so it runs after it (cleanups run in reverse): a client's
  // open transaction is rolled back first and cannot hold the revocation up.
  const which = `the demo key ${demo.plaintext.slice(0, 12)}…`;
  outcome.key = `${which} not confirmed revoked (it expires within ${LIFETIME_MINUTES} minutes)`;
  cleanups.push(async () => {
    try {
      await demo.revoke(database.owner);
      outcome.key = `${which} revoked`;
    } catch (err) {
      outcome.key = `${which} could not be revoked (${(err as Error).message}; it expires ` +
        `within ${LIFETIME_MINUTES} minutes)`;
    }
  });
  const renewal = setInterval(() => {
    demo.renew(database.owner).catch((err) =>
      console.error(`dev: the demo key's expiry could not be renewed: ${(err as Error).message}`)
    );
  }, RENEW_EVERY_MS);
  Deno.unrefTimer(renewal);
  cleanups.push(() => clearInterval(renewal));
}

// ---- 4. the embedded database, shared: the gateway in process, clients on a loopback port ----

if (database.embedded) {
  const pg = database.embedded;
  const shared = await phase(
    `database: serving it to Postgres clients on 127.0.0.1${
      dbPort ? `:${dbPort}` : ", a free port"
    }`,
    async () => {
      const { shareSession } = await import("./pglite_socket.ts");
      const session = shareSession(pg);
      try {
        return { session, socket: await session.listen(dbPort) };
      } catch (err) {
        if ((err as { code?: string }).code === "EADDRINUSE") {
          return await portsTaken([{ name: "DB_PORT", port: dbPort, host: "127.0.0.1" }]);
        }
        throw err;
      }
    },
  );
  cleanups.push(() => shared.socket.stop());
  // From here on, everyone goes through the session's gate.
  database.query = shared.session.query("service_role");
  // As `postgres` for its own transaction: a client's `set role` cannot change who it is.
  database.owner = shared.session.query("postgres");
  database.url = shared.socket.url;
}

// ---- 5. the app, and what to copy ----

/** The keys webhook secrets are encrypted under: WEBHOOK_SECRETS_KEYS when given; else the data
 * directory's own (made on its first start, kept in it); in memory, a fresh one each start (the
 * database goes with the process). With DATABASE_URL and no WEBHOOK_SECRETS_KEYS, a fresh one too,
 * and said: secrets stored under an earlier start's key would not decrypt. */
async function webhookSecretsKeys(): Promise<string> {
  const given = Deno.env.get(SECRETS_KEYS_VARIABLE)?.trim();
  if (given) return given;
  if (dataDir !== undefined) {
    const { dataDirSecretsKeys } = await import("./dev_data_dir.ts");
    return await dataDirSecretsKeys(dataDir);
  }
  if (databaseUrl) {
    console.error(
      `dev: ${SECRETS_KEYS_VARIABLE} is not set: webhook secrets made now are encrypted under a ` +
        "key this start makes and forgets, and endpoints made under another key cannot be " +
        `delivered to. Set ${SECRETS_KEYS_VARIABLE} to keep them (docs/development.md).`,
    );
  }
  return newKeyEntry(`dev-${crypto.randomUUID().slice(0, 8)}`);
}
const secretsKeys = await webhookSecretsKeys();

// Supabase serves the function under /functions/v1 and hands it /api-gateway/...; the app routes
// the same way by dropping that prefix (no copy of each Request).
// Local receivers (http://localhost, 127.0.0.1) are allowed here, and only here.
const urlPolicy = { allowLocalHttp: true, resolve: runtimeResolver() };
const db = createSqlDb(database.query);
// WEBHOOK_DISPATCH_SECRET: the deployed function's trigger path, here: the dispatch route is
// served (for pg_cron, or a curl, to call) and the dev server's own dispatcher stays off.
const dispatchSecret = Deno.env.get("WEBHOOK_DISPATCH_SECRET") || undefined;
const app = createApp({
  db,
  servedUnder: PLATFORM_PREFIX,
  servers: [{ url: base, description: "this dev server (deno task dev)" }],
  webhooks: { urlPolicy, dispatchSecret, secretsKeys },
});
resolveApp(app.fetch);
// WEBHOOK_DISPATCH=off: nothing delivered (the bench's request-serving runs count every commit).
if (Deno.env.get("WEBHOOK_DISPATCH") !== "off" && !dispatchSecret) {
  const keys = { log: jsonLineLogger, webhooks: { secretsKeys } };
  const dispatcher = startDispatcher({
    db,
    urlPolicy,
    secretKeyring: () => keyringOf(keys),
    log: jsonLineLogger,
  });
  cleanups.push(() => dispatcher.stop());
}

/** The URL as the banner may print it: never a password (terminals and CI logs keep it). */
function printable(url: string): { text: string; secret: boolean } {
  const m = /^postgres(?:ql)?:\/\/([^:@/]*):([^@/]*)@/.exec(url);
  const text = url.replace(/^postgres:/, "postgresql:");
  if (!m) return { text, secret: false };
  return { text: text.replace(`:${m[2]}@`, ":***@"), secret: true };
}

const gateway = `${base}/api-gateway`;
const shown = printable(database.url);
const orgArg = demo?.orgId ?? "<org id>";
/** Since the command began (the outermost launcher: npx, which may have downloaded Deno first),
 * and since this process began (Deno's own downloads included); where launchers cannot be read,
 * since this process began (performance.now() counts from it). */
function readyIn(): string {
  const ago = startedAgo();
  if (!ago) return `${seconds(performance.now())} since this process started`;
  const own = ago.command - ago.process > 50 ? ` (this process: ${seconds(ago.process)})` : "";
  return `${seconds(ago.command)} since the command began${own}`;
}

const lines = [
  `ready in ${readyIn()}: api-gateway on ${gateway}`,
  `database: ${shown.text} (${database.describe})`,
  `OpenAPI: ${gateway}/v1/openapi.json`,
];
if (demo) lines.push(`demo org: "${demo.orgName}" ${demo.orgId}`);
lines.push(
  "",
  "The database, for keys, psql or any client, while this runs:",
  shown.secret
    ? `${TASK} keys list --org ${orgArg}   (with the DATABASE_URL given here)`
    : `DATABASE_URL='${shown.text}' ${TASK} keys list --org ${orgArg}`,
  shown.secret ? `psql "$DATABASE_URL"` : `psql '${shown.text}'`,
);
if (!demo) {
  console.error(
    "dev: the demo org of supabase/seed.sql is not in this database, so no demo key was minted " +
      `(apply the seed, or mint one with ${TASK} keys create)`,
  );
} else {
  lines.push(
    "",
    `A new API key for the demo org (${PERMISSIONS.join(", ")}), shown only this once; it is ` +
      "revoked when this dev server stops:",
    `  ${demo.plaintext}`,
  );
  if (demo.companyId) {
    lines.push(
      "",
      "Try it:",
      `curl -sS -X POST ${gateway}/v1/companies/${demo.companyId}/contacts/link \\`,
      `  -H "Authorization: Bearer ${demo.plaintext}" \\`,
      `  -H "Content-Type: application/json" \\`,
      `  -d '{"contact_ids": ["${demo.contactIds.join('", "')}"]}'`,
    );
  }
}
console.log(lines.join("\n") + "\n");
