import { PGlite } from "@electric-sql/pglite";
import { SUPABASE_CLI_VERSION, supabaseDbPush } from "./supabase_cli.ts";

const REPO = new URL("../", import.meta.url);
const ROLES_SQL = new URL("supabase/roles.sql", REPO);
const SEED_SQL = new URL("supabase/seed.sql", REPO);
const MIGRATIONS = new URL("supabase/migrations/", REPO);
/** Migrated archives, keyed by what they are built from (gitignored). */
const CACHE = new URL(".cache/pglite/", REPO);
// Loaded only to migrate: it is a few seconds of work, done when the migrations change. The name
// is not a literal, so Deno neither resolves nor downloads the package (and the seven extension
// packages it declares as peers) before this runs; the type comes from a type-only import.
const SOCKET_PACKAGE = "@electric-sql/pglite-socket";
type SocketModule = typeof import("@electric-sql/pglite-socket");

/** Embedded Postgres with the Supabase roles, then every migration and (optionally) the seed,
 * applied by the real Supabase CLI: PGlite is exposed on a loopback socket for the duration of
 * `supabase db push`, exactly as a server would be. */
export async function openPglite(
  options: { seed?: boolean; signal?: AbortSignal } = {},
): Promise<PGlite> {
  const db = await PGlite.create();
  await db.exec(await Deno.readTextFile(ROLES_SQL));
  await pushMigrations(db, { seed: options.seed ?? true, signal: options.signal });
  return db;
}

/** `supabase db push` into a running PGlite (only what it has not applied yet). */
async function pushMigrations(
  db: PGlite,
  options: { seed: boolean; signal?: AbortSignal },
): Promise<void> {
  const { PGLiteSocketServer }: SocketModule = await import(SOCKET_PACKAGE);
  const socket = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0 });
  await socket.start();
  try {
    await supabaseDbPush(
      `postgresql://postgres@${socket.getServerConn()}/postgres?sslmode=disable`,
      options,
    );
  } finally {
    await socket.stop();
  }
}

/** A migrated database as a data-directory archive: loading it is several times faster than
 * migrating again. */
export async function dumpPglite(db: PGlite): Promise<Uint8Array<ArrayBuffer>> {
  const blob = await db.dumpDataDir("none");
  return new Uint8Array(await blob.arrayBuffer());
}

/** A new, independent PGlite holding what the archive holds. */
export function pgliteFromDump(dump: Uint8Array<ArrayBuffer>): Promise<PGlite> {
  return PGlite.create({ loadDataDir: new Blob([dump]) });
}

/** The migration files' versions (the digits before the first underscore), sorted. */
async function migrationFiles(): Promise<{ version: string; name: string }[]> {
  const files: { version: string; name: string }[] = [];
  for await (const entry of Deno.readDir(MIGRATIONS)) {
    const m = /^(\d+)_.*\.sql$/.exec(entry.name);
    if (entry.isFile && m) files.push({ version: m[1], name: entry.name });
  }
  return files.sort((a, b) => a.version.localeCompare(b.version));
}

/** What a migrated archive is built from: the roles, every migration, the seed, the PGlite and
 * Supabase CLI versions. Any change makes a new key, so a stale archive is never loaded. */
async function archiveKey(): Promise<string> {
  const parts = [
    import.meta.resolve("@electric-sql/pglite"),
    `supabase@${SUPABASE_CLI_VERSION}`,
    await Deno.readTextFile(ROLES_SQL),
    await Deno.readTextFile(SEED_SQL),
  ];
  for (const file of await migrationFiles()) {
    parts.push(file.name, await Deno.readTextFile(new URL(file.name, MIGRATIONS)));
  }
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(parts.join("\0")));
  return Array.from(new Uint8Array(digest).slice(0, 12), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** The migrated and seeded archive for the current migrations, if one was cached. */
export async function cachedArchive(): Promise<Uint8Array<ArrayBuffer> | null> {
  try {
    return await Deno.readFile(await archivePath()) as Uint8Array<ArrayBuffer>;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/** Migrates and seeds a new PGlite with the Supabase CLI and caches its archive, replacing the
 * archives of older migrations. */
export async function buildArchive(signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
  const path = await archivePath();
  const db = await openPglite({ seed: true, signal });
  const dump = await dumpPglite(db);
  await db.close();
  await Deno.mkdir(CACHE, { recursive: true });
  // Written aside and renamed, so a concurrent start never reads half an archive.
  const partial = new URL(`${path.href}.${crypto.randomUUID()}.partial`);
  await Deno.writeFile(partial, dump);
  await Deno.rename(partial, path);
  for await (const entry of Deno.readDir(CACHE)) {
    const other = new URL(entry.name, CACHE);
    if (entry.name.endsWith(".tar") && other.href !== path.href) {
      await Deno.remove(other).catch(() => {});
    }
  }
  return dump;
}

const archivePath = async () => new URL(`migrated-${await archiveKey()}.tar`, CACHE);

/** Migrations in supabase/migrations that this database has not applied. */
export async function pendingMigrations(db: PGlite): Promise<string[]> {
  const applied = new Set(
    (await db.query<{ version: string }>(
      "select version from supabase_migrations.schema_migrations",
    )).rows.map((r) => r.version),
  );
  return (await migrationFiles()).filter((f) => !applied.has(f.version)).map((f) => f.name);
}

/** A PGlite kept in `dir` (its data directory): opened as it is, or created from `archive`. */
export async function openPgliteDir(
  dir: string,
  archive?: () => Promise<Uint8Array<ArrayBuffer>>,
): Promise<PGlite> {
  if (await exists(`${dir}/PG_VERSION`)) return await PGlite.create({ dataDir: dir });
  if (!archive) throw new Deno.errors.NotFound(`no database in ${dir}`);
  return await PGlite.create({ dataDir: dir, loadDataDir: new Blob([await archive()]) });
}

/** Applies the migrations the database in `db` lacks (and the seed, if it changed). */
export function applyPendingMigrations(db: PGlite, signal?: AbortSignal): Promise<void> {
  return pushMigrations(db, { seed: true, signal });
}

export const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
