const SEED_SQL = new URL("../supabase/seed.sql", import.meta.url);

/** The demo org: the first org supabase/seed.sql inserts (the seed is the one home of its ids),
 * or null when the seed inserts none. */
export async function demoOrgId(): Promise<string | null> {
  const seed = await Deno.readTextFile(SEED_SQL);
  return /insert into public\.orgs\b[^;]*?'([0-9a-f-]{36})'/i.exec(seed)?.[1] ?? null;
}
