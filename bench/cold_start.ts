/** Cold start of the deployed entry point (supabase/functions/api-gateway/index.ts, with
 * SUPABASE_URL at a local fake and a service key set) against a bare Deno + Hono server: from
 * spawn to the first answered request, with dependencies cached; the module graph's size; and
 * resident memory after that first request. Spawns alternate between the two servers. */
import { freePort } from "../local/net.ts";
import { percentile, sleep } from "./load.ts";
import { memoryMb } from "./proc.ts";

const REPO = new URL("../", import.meta.url).pathname;
export const GATEWAY_ENTRY = "supabase/functions/api-gateway/index.ts";
export const BARE_ENTRY = "bench/bare_server.ts";
/** What the platform grants an edge function, for both. */
const PERMISSIONS = ["--allow-net", "--allow-env", "--cached-only"];

export interface ColdStart {
  /** Median milliseconds from spawn to the first answer. */
  medianMs: number;
  spawns: number[];
  /** Bytes: local modules plus every npm package the graph reaches. */
  graphBytes: number;
  /** Median resident memory right after the first answer, MB. */
  rssMb: number;
}

export interface ColdStarts {
  gateway: ColdStart;
  bare: ColdStart;
}

export async function measureColdStarts(spawns: number): Promise<ColdStarts> {
  // The fake Supabase: the gateway builds its client at import, and must find a URL that answers.
  const fake = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json([]),
  );
  const env = {
    SUPABASE_URL: `http://127.0.0.1:${fake.addr.port}`,
    SUPABASE_SERVICE_ROLE_KEY: "bench-service-role-key",
  };
  try {
    for (const entry of [GATEWAY_ENTRY, BARE_ENTRY]) {
      await run(["cache", entry]);
      await spawnOnce(entry, "/", env); // fills Deno's code cache: not measured
    }
    const times = { gateway: [] as number[], bare: [] as number[] };
    const rss = { gateway: [] as number[], bare: [] as number[] };
    for (let i = 0; i < spawns; i++) {
      // The gateway's cheapest answer: a 404 of its own router (no database, no document).
      const g = await spawnOnce(GATEWAY_ENTRY, "/api-gateway/v1/cold-start", env);
      const b = await spawnOnce(BARE_ENTRY, "/", env);
      times.gateway.push(g.ms), rss.gateway.push(g.rssMb);
      times.bare.push(b.ms), rss.bare.push(b.rssMb);
    }
    const summary = async (entry: string, t: number[], r: number[]): Promise<ColdStart> => ({
      medianMs: median(t),
      spawns: t,
      graphBytes: await graphBytes(entry),
      rssMb: median(r),
    });
    return {
      gateway: await summary(GATEWAY_ENTRY, times.gateway, rss.gateway),
      bare: await summary(BARE_ENTRY, times.bare, rss.bare),
    };
  } finally {
    await fake.shutdown();
  }
}

async function spawnOnce(
  entry: string,
  path: string,
  env: Record<string, string>,
): Promise<{ ms: number; rssMb: number }> {
  const port = freePort();
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, entry],
    cwd: REPO,
    env: { ...env, DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${port}` },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => (exited = true, s));
  try {
    for (;;) {
      if (exited) {
        const err = await new Response(child.stderr).text();
        throw new Error(`${entry} exited before answering:\n${err}`);
      }
      try {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        await res.body?.cancel();
        const ms = performance.now() - started;
        return { ms, rssMb: memoryMb(child.pid, "VmRSS") };
      } catch {
        await sleep(1);
      }
      if (performance.now() - started > 30_000) throw new Error(`${entry} never answered`);
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await status;
    await child.stderr.cancel().catch(() => {});
  }
}

/** `deno info --json`: local modules' sizes, plus the files of every npm package reachable. */
async function graphBytes(entry: string): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: REPO,
    stdout: "piped",
    stderr: "null",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { kind: string; size?: number; npmPackage?: string }[];
    npmPackages: Record<string, { dependencies: string[]; localPath?: string }>;
  };
  let bytes = 0;
  const seen = new Set<string>();
  const queue: string[] = [];
  for (const m of info.modules) {
    bytes += m.size ?? 0;
    if (m.npmPackage) queue.push(m.npmPackage);
  }
  while (queue.length) {
    const id = queue.shift()!;
    if (seen.has(id) || !info.npmPackages[id]) continue;
    seen.add(id);
    const pkg = info.npmPackages[id];
    if (pkg.localPath) bytes += await dirBytes(pkg.localPath);
    queue.push(...pkg.dependencies);
  }
  return bytes;
}

async function dirBytes(path: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(path)) {
    const full = `${path}/${entry.name}`;
    if (entry.isDirectory) total += await dirBytes(full);
    else if (entry.isFile) total += (await Deno.stat(full)).size;
  }
  return total;
}

async function run(args: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: REPO, stdout: "null" })
    .output();
  if (!out.success) throw new Error(`deno ${args.join(" ")} failed`);
}

function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}
