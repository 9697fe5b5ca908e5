/** Runs a command to completion; throws with everything it printed when it fails. */
export async function runOrThrow(argv: string[], opts: { cwd?: string } = {}): Promise<void> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: opts.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    throw new Error(`${argv.join(" ")} failed (exit ${out.code}):\n${text}`);
  }
}
