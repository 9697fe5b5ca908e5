import { SUPABASE_CLI_VERSION } from "./supabase_cli.ts";

const REPO = new URL("../", import.meta.url);
const MIGRATIONS = new URL("supabase/migrations/", REPO);

/** The migration files' versions (the digits before the first underscore), sorted. */
export async function migrationFiles(): Promise<{ version: string; name: string }[]> {
  const files: { version: string; name: string }[] = [];
  for await (const entry of Deno.readDir(MIGRATIONS)) {
    const m = /^(\d+)_.*\.sql$/.exec(entry.name);
    if (entry.isFile && m) files.push({ version: m[1], name: entry.name });
  }
  return files.sort((a, b) => a.version.localeCompare(b.version));
}

/** What a migrated database is built from: `engine` (which Postgres, which version), the Supabase
 * CLI version, the roles, every migration and the seed. Any change makes a new key, so a database
 * cached under an old key is never used for new migrations. */
export async function migrationsKey(engine: string): Promise<string> {
  const parts = [
    engine,
    `supabase@${SUPABASE_CLI_VERSION}`,
    await Deno.readTextFile(new URL("supabase/roles.sql", REPO)),
    await Deno.readTextFile(new URL("supabase/seed.sql", REPO)),
  ];
  for (const file of await migrationFiles()) {
    parts.push(file.name, await Deno.readTextFile(new URL(file.name, MIGRATIONS)));
  }
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(parts.join("\0")));
  return Array.from(new Uint8Array(digest).slice(0, 12), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}
