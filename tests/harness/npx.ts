import { trustSystemCas } from "../../local/ca_trust.ts";

/** Why `npx --yes <pkg> --version` cannot run here (no Node.js/npm, no registry and nothing
 * cached), or null when it can; the caller's tests are then ignored, and this says so loudly.
 * Downloads the package on first use, so the tests that follow do not pay for it. */
export async function npxUnavailableReason(pkg: string, tests: string): Promise<string | null> {
  let reason: string;
  try {
    const out = await new Deno.Command("npx", {
      args: ["--yes", pkg, "--version"],
      env: trustSystemCas(),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.success) return null;
    const said = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" / ");
    reason = `\`npx --yes ${pkg} --version\` failed (exit ${out.code}): ${said}`;
  } catch (err) {
    reason = err instanceof Deno.errors.NotFound
      ? "npx is not on PATH (install Node.js and npm)"
      : `npx cannot run: ${err}`;
  }
  console.error(`\n!!! ${tests} IGNORED: ${reason} !!!\n`);
  return reason;
}
