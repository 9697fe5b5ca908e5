import { PGlite } from "@electric-sql/pglite";
import { pgcrypto } from "@electric-sql/pglite/contrib/pgcrypto";
import { runOrThrow } from "./command.ts";
import { migrationFiles, migrationsKey } from "./migrations_key.ts";

const REPO = new URL("../", import.meta.url);
/** Migrated archives, keyed by what they are built from (gitignored). */
const CACHE = new URL(".cache/pglite/", REPO);
/** The migration runner, a process of its own (see its header). */
const MIGRATE = new URL("migrate/main.ts", import.meta.url);

/** The extensions the migrations create (pgcrypto: Idempotency-Key answers are stored encrypted),
 * loaded into every PGlite: one that lacks them cannot run the functions that use them. */
export const PGLITE_EXTENSIONS = { pgcrypto };

/** The PGlite release this process loads, e.g. "0.5.14" (its resolved path names it; the path
 * itself differs between machines). */
export function pgliteVersion(): string {
  const url = import.meta.resolve("@electric-sql/pglite");
  return /@electric-sql\/pglite[/@](\d+\.\d+\.\d+[^/_]*)/.exec(url)?.[1] ?? url;
}

/** Runs local/migrate/main.ts; `signal` stops it with the Supabase CLI it runs. */
function migrate(args: string[], signal?: AbortSignal): Promise<void> {
  return runOrThrow([
    Deno.execPath(),
    "run",
    `--config=${new URL("deno.json", REPO).pathname}`,
    "--unstable-npm-lazy-caching",
    "--allow-read",
    "--allow-write",
    "--allow-net",
    "--allow-env",
    "--allow-run",
    "--allow-sys",
    MIGRATE.pathname,
    ...args,
  ], { signal });
}

/** A new, independent PGlite holding what the archive holds. */
export function pgliteFromDump(dump: Uint8Array<ArrayBuffer>): Promise<PGlite> {
  return PGlite.create({ loadDataDir: new Blob([dump]), extensions: PGLITE_EXTENSIONS });
}

/** The migrated and seeded archive (a data-directory tarball: loading it is several times faster
 * than migrating again) for the current migrations, if one was cached. */
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
  await Deno.mkdir(CACHE, { recursive: true });
  // Written aside and renamed, so a concurrent start never reads half an archive.
  const partial = new URL(`${path.href}.${crypto.randomUUID()}.partial`);
  try {
    await migrate(["--archive", partial.pathname], signal);
    await Deno.rename(partial, path);
  } finally {
    await Deno.remove(partial).catch(() => {});
  }
  for await (const entry of Deno.readDir(CACHE)) {
    const other = new URL(entry.name, CACHE);
    if (entry.name.endsWith(".tar") && other.href !== path.href) {
      await Deno.remove(other).catch(() => {});
    }
  }
  return await Deno.readFile(path) as Uint8Array<ArrayBuffer>;
}

const archivePath = async () =>
  new URL(`migrated-${await migrationsKey(`pglite@${pgliteVersion()}`)}.tar`, CACHE);

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
  if (await exists(`${dir}/PG_VERSION`)) {
    return await PGlite.create({ dataDir: dir, extensions: PGLITE_EXTENSIONS });
  }
  if (!archive) throw new Deno.errors.NotFound(`no database in ${dir}`);
  return await PGlite.create({
    dataDir: dir,
    loadDataDir: new Blob([await archive()]),
    extensions: PGLITE_EXTENSIONS,
  });
}

/** Applies the migrations that the database kept in `dir` lacks (and the seed, if it changed).
 * Nothing else may have the directory open meanwhile. */
export function migrateDataDir(dir: string, signal?: AbortSignal): Promise<void> {
  return migrate(["--data-dir", dir], signal);
}

export const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
