import { trustSystemCas } from "./ca_trust.ts";

/** Runs a command to completion; throws with everything it printed when it fails. It trusts the
 * system's certificate authorities (local/ca_trust.ts): the commands run here are npx tools that
 * may download their package first. Given a
 * `signal`, the command gets a process group of its own and aborting ends the whole group:
 * `npx` starts node, which starts the real binary, so stopping only the first would leave the
 * others running. */
export async function runOrThrow(
  argv: string[],
  opts: { cwd?: string; signal?: AbortSignal } = {},
): Promise<void> {
  opts.signal?.throwIfAborted();
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: opts.cwd,
    env: trustSystemCas(),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: opts.signal !== undefined && Deno.build.os !== "windows",
  }).spawn();
  const stopGroup = () => {
    try {
      // A negative pid is the process group.
      Deno.kill(Deno.build.os === "windows" ? child.pid : -child.pid, "SIGTERM");
    } catch { /* already gone */ }
  };
  opts.signal?.addEventListener("abort", stopGroup, { once: true });
  try {
    const out = await child.output();
    opts.signal?.throwIfAborted();
    if (!out.success) {
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      throw new Error(`${argv.join(" ")} failed (exit ${out.code}):\n${text}`);
    }
  } finally {
    opts.signal?.removeEventListener("abort", stopGroup);
  }
}
