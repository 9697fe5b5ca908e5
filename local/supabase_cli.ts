/** The real Supabase CLI (pinned), for applying migrations and the seed to any Postgres. */
const REPO = new URL("../", import.meta.url);

/** `SUPABASE_CLI` overrides the command (e.g. a path to an installed binary). */
export function supabaseCli(): string[] {
  return Deno.env.get("SUPABASE_CLI")?.split(" ").filter(Boolean) ??
    ["npx", "--yes", "supabase@2.117.0"];
}

/** `supabase db push --db-url <url> [--include-seed]` from the repository root. */
export async function supabaseDbPush(url: string, opts: { seed: boolean }): Promise<void> {
  const [cmd, ...pre] = supabaseCli();
  const args = [...pre, "db", "push", "--db-url", url, "--yes"];
  if (opts.seed) args.push("--include-seed");
  const out = await new Deno.Command(cmd, {
    args,
    cwd: REPO.pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    throw new Error(`supabase db push failed (exit ${out.code}):\n${text}`);
  }
}
