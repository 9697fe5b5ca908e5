import { pgClient } from "./postgres.ts";
import { runOrThrow } from "./command.ts";
import { migrationsKey } from "./migrations_key.ts";
import { supabaseDbPush, warmSupabaseCli } from "./supabase_cli.ts";
import { freePort } from "./net.ts";

/** Throwaway PostgreSQL 15 servers. The slow part (initdb, the Supabase roles, every migration and
 * the seed through the real Supabase CLI) is done once, into a stopped "golden" data directory;
 * each server is a copy of it started on a free port, as the `postgres` user when we are root
 * (Postgres refuses to run as root). */
export interface PgServer {
  /** Superuser URL of the migrated database (the table owner: fixtures, digests). */
  url: string;
  port: number;
  /** The data directory, for tests that need a server of their own built the same way. */
  dir: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
  /** For the process's unload event, where nothing can be awaited. */
  destroySync(): void;
  /** The server's log so far, for failure messages. */
  output(): string;
}

const REPO = new URL("../", import.meta.url);

// Debian's postgresql-15 puts initdb and pg_ctl here, off PATH; the machine image links them.
export const PG_BIN = "/usr/lib/postgresql/15/bin";
try {
  if (Deno.statSync(`${PG_BIN}/initdb`).isFile) {
    Deno.env.set("PATH", `${Deno.env.get("PATH")}:${PG_BIN}`);
  }
} catch { /* not installed there */ }

/** Postgres refuses to run as root: as root, run its tools as the `postgres` user. */
function asPostgres(cmd: string[]): string[] {
  return Deno.uid() === 0 ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd;
}

/** Why a real Postgres cannot be started here, or null when it can. */
export function postgresUnavailableReason(): string | null {
  for (const bin of ["initdb", "pg_ctl"]) {
    const found = new Deno.Command("sh", { args: ["-c", `command -v ${bin}`], stdout: "null" })
      .outputSync().success;
    if (!found) return `${bin} is not on PATH (install postgresql-15)`;
  }
  return null;
}

async function tempDirForPostgres(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  if (Deno.uid() === 0) {
    const ids = new Deno.Command("id", { args: ["-u", "postgres"], stdout: "piped" }).outputSync();
    const uid = Number(new TextDecoder().decode(ids.stdout).trim());
    await Deno.chown(dir, uid, null);
  }
  return dir;
}

export interface ServerOptions {
  /** Extra `-c name=value` settings, e.g. shared_preload_libraries. */
  settings?: Record<string, string>;
}

/** A server on a copy of `golden` (a stopped, migrated data directory). */
export async function startServerFrom(
  golden: string,
  options: ServerOptions = {},
): Promise<PgServer> {
  const dir = await tempDirForPostgres("gateway-pg-");
  const data = `${dir}/data`;
  // As ourselves, not as `postgres`: the golden copy may sit in a checkout only we can enter (a
  // mktemp directory). cp -a keeps the files' owner, so the copy is still postgres's.
  await runOrThrow(["cp", "-a", golden, data]);
  return await startServer(dir, data, options);
}

async function startServer(
  dir: string,
  data: string,
  options: ServerOptions,
): Promise<PgServer> {
  const port = freePort();
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
  const settings = {
    listen_addresses: "127.0.0.1",
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
    max_connections: "400",
    ...options.settings,
  };
  const flags = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`).join(" ");
  const start = () =>
    runOrThrow(asPostgres([
      "pg_ctl",
      "-D",
      data,
      "-l",
      `${dir}/server.log`,
      "-w",
      "-o",
      `-p ${port} -k ${dir} ${flags}`,
      "start",
    ]));
  const stopArgv = asPostgres(["pg_ctl", "-D", data, "-m", "fast", "-w", "stop"]);
  const stop = () => runOrThrow(stopArgv);
  await start();
  return {
    url,
    port,
    dir: data,
    output: () => {
      try {
        return `--- Postgres log (port ${port}) ---\n${Deno.readTextFileSync(`${dir}/server.log`)}`;
      } catch {
        return `--- Postgres log (port ${port}): none ---`;
      }
    },
    stop,
    start,
    destroy: async () => {
      await stop().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    },
    destroySync: () => {
      new Deno.Command(stopArgv[0], { args: stopArgv.slice(1), stdout: "null", stderr: "null" })
        .outputSync();
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* already gone */ }
    },
  };
}

/** initdb, the Supabase roles, then every migration and the seed by the real Supabase CLI,
 * into database `postgres`; the server is stopped again and the directory returned. */
export async function buildGolden(): Promise<string> {
  const dir = await tempDirForPostgres("gateway-golden-");
  const data = `${dir}/data`;
  await runOrThrow(
    asPostgres(["initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]),
  );
  const server = await startServer(dir, data, {});
  try {
    await applyRolesAndMigrations(server.url);
  } finally {
    await server.stop();
  }
  return data;
}

/** The Supabase roles (they must exist before the migrations grant to them), then `supabase db
 * push`, with the seed unless told otherwise (production has none). */
export async function applyRolesAndMigrations(url: string, { seed = true } = {}): Promise<void> {
  const admin = pgClient(url, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(await Deno.readTextFile(new URL("supabase/roles.sql", REPO)));
  } finally {
    await admin.end();
  }
  await supabaseDbPush(url, { seed });
}

/** Migrated golden directories, keyed by what they are built from (gitignored), like the dev
 * server's PGlite archives: a run whose migrations did not change starts from the last one. */
const CACHE = new URL(".cache/postgres/", REPO);

/** The cached golden directory for the current migrations, if there is one. */
export async function cachedGolden(): Promise<string | null> {
  const dir = await goldenCacheDir();
  try {
    await Deno.stat(`${dir}/data/PG_VERSION`);
    return `${dir}/data`;
  } catch {
    return null;
  }
}

/** The current golden directory: cached, or built now (initdb, roles, the Supabase CLI) and
 * cached, replacing those of older migrations. */
export async function cachedOrBuiltGolden(): Promise<string> {
  const cached = await cachedGolden();
  if (cached) return cached;
  await warmSupabaseCli();
  const built = await buildGolden();
  const dir = await goldenCacheDir();
  await Deno.mkdir(CACHE, { recursive: true });
  const partial = `${dir}.${crypto.randomUUID()}.partial`;
  try {
    await Deno.mkdir(partial);
    await runOrThrow(["cp", "-a", built, `${partial}/data`]);
    // Renamed into place whole, so a concurrent run never starts from half a copy.
    await Deno.rename(partial, dir).catch(async (err) => {
      if (!(await cachedGolden())) throw err; // another run got there first otherwise
    });
  } finally {
    await Deno.remove(partial, { recursive: true }).catch(() => {});
    await Deno.remove(new URL(`file://${built}/..`).pathname, { recursive: true }).catch(() => {});
  }
  for await (const entry of Deno.readDir(CACHE)) {
    const other = new URL(entry.name, CACHE).pathname.replace(/\/$/, "");
    if (other !== dir) await Deno.remove(other, { recursive: true }).catch(() => {});
  }
  return `${dir}/data`;
}

async function goldenCacheDir(): Promise<string> {
  const version = new TextDecoder().decode(
    (await new Deno.Command("initdb", { args: ["--version"], stdout: "piped" }).output()).stdout,
  ).trim();
  return new URL(await migrationsKey(version), CACHE).pathname;
}

/** The run's golden directory: tests/run.ts names it in GATEWAY_TEST_PG_GOLDEN; a file run on its
 * own finds it the same way. */
let golden: Promise<string> | undefined;
export function goldenDataDir(): Promise<string> {
  const given = Deno.env.get("GATEWAY_TEST_PG_GOLDEN");
  if (given) return Promise.resolve(given);
  golden ??= cachedOrBuiltGolden();
  return golden;
}

/** A server of its own (for tests that stop it), started from the golden copy. */
export async function startPostgres(options: ServerOptions = {}): Promise<PgServer> {
  const server = await startServerFrom(await goldenDataDir(), options);
  globalThis.addEventListener("unload", () => server.destroySync());
  return server;
}
