import { PGlite } from "@electric-sql/pglite";

const SUPABASE_DIR = new URL("../supabase/", import.meta.url);

/** The migration files in the order the Supabase CLI applies them (by timestamped name). */
export async function migrationFiles(): Promise<URL[]> {
  const dir = new URL("migrations/", SUPABASE_DIR);
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && /^\d+_.+\.sql$/.test(entry.name)) names.push(entry.name);
  }
  return names.sort().map((name) => new URL(name, dir));
}

/** Embedded Postgres with the Supabase roles, every migration and (optionally) the seed. */
export async function openPglite(options: { seed?: boolean } = {}): Promise<PGlite> {
  const db = await PGlite.create();
  await db.exec(await Deno.readTextFile(new URL("roles.sql", SUPABASE_DIR)));
  for (const file of await migrationFiles()) {
    await db.exec(await Deno.readTextFile(file));
  }
  if (options.seed ?? true) {
    await db.exec(await Deno.readTextFile(new URL("seed.sql", SUPABASE_DIR)));
  }
  return db;
}
