import { runOrThrow } from "./command.ts";

/** The Supabase CLI release every command here runs (newer ones break `npm ci` on some
 * machines). Its one home: the dev server, the tests and the docs' commands use it. */
export const SUPABASE_CLI_VERSION = "2.117.0";

const REPO = new URL("../", import.meta.url);

/** `SUPABASE_CLI` overrides the command (e.g. a path to an installed binary). */
export function supabaseCli(): string[] {
  return Deno.env.get("SUPABASE_CLI")?.split(" ").filter(Boolean) ??
    ["npx", "--yes", `supabase@${SUPABASE_CLI_VERSION}`];
}

/** Downloads the CLI now, if it is not cached, so the first migration does not pay for it. */
export async function warmSupabaseCli(): Promise<void> {
  await runOrThrow([...supabaseCli(), "--version"]);
}

/** `supabase db push --db-url <url> [--include-seed]` from the repository root. */
export async function supabaseDbPush(
  url: string,
  opts: { seed: boolean; signal?: AbortSignal },
): Promise<void> {
  const argv = [...supabaseCli(), "db", "push", "--db-url", url, "--yes"];
  if (opts.seed) argv.push("--include-seed");
  await runOrThrow(argv, { cwd: REPO.pathname, signal: opts.signal });
}
