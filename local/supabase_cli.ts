import { runOrThrow } from "./command.ts";

/** The real Supabase CLI (pinned), for applying migrations and the seed to any Postgres. */
const REPO = new URL("../", import.meta.url);

/** `SUPABASE_CLI` overrides the command (e.g. a path to an installed binary). */
export function supabaseCli(): string[] {
  return Deno.env.get("SUPABASE_CLI")?.split(" ").filter(Boolean) ??
    ["npx", "--yes", "supabase@2.117.0"];
}

/** `supabase db push --db-url <url> [--include-seed]` from the repository root. */
export async function supabaseDbPush(url: string, opts: { seed: boolean }): Promise<void> {
  const argv = [...supabaseCli(), "db", "push", "--db-url", url, "--yes"];
  if (opts.seed) argv.push("--include-seed");
  await runOrThrow(argv, { cwd: REPO.pathname });
}
