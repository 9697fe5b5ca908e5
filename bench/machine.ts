/** What the numbers were measured on, for docs/benchmarks.md. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  deno: string;
  postgres: string;
  wrk: string;
  pgbench: string;
}

export async function describeMachine(postgresVersion: string): Promise<Machine> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const version = async (cmd: string, arg: string) => {
    const out = await new Deno.Command(cmd, { args: [arg], stdout: "piped", stderr: "piped" })
      .output().catch(() => null);
    if (!out) return "not installed";
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return text.split("\n")[0].trim();
  };
  return {
    cpu: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown",
    cores: navigator.hardwareConcurrency,
    memoryGb: Number(meminfo.match(/^MemTotal:\s+(\d+) kB/m)?.[1] ?? 0) / 1024 / 1024,
    deno: Deno.version.deno,
    postgres: postgresVersion,
    wrk: await version("wrk", "--version"),
    pgbench: await version("pgbench", "--version"),
  };
}
