import { freePort } from "../local/net.ts";
const REPO = new URL("../", import.meta.url).pathname;
async function once(entry: string, flags: string[]) {
  const port = freePort();
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", ...flags, entry],
    cwd: REPO,
    env: {
      DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${port}`,
      SUPABASE_URL: "http://127.0.0.1:1",
      SUPABASE_SERVICE_ROLE_KEY: "k",
    },
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/api-gateway/v1/x`);
      await r.text();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  const ms = performance.now() - t0;
  const rss =
    Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${child.pid}/status`))![1]) / 1024;
  child.kill("SIGKILL");
  await child.status;
  return { ms, rss };
}
const entries = Deno.args;
const flags = (Deno.env.get("FLAGS") ?? "").split(" ").filter(Boolean);
for (const e of entries) await once(e, flags);
const res: Record<string, { ms: number[]; rss: number[] }> = {};
for (let i = 0; i < 11; i++) {
  for (const e of (i % 2 ? [...entries].reverse() : entries)) {
    const r = await once(e, flags);
    (res[e] ??= { ms: [], rss: [] }).ms.push(r.ms);
    res[e].rss.push(r.rss);
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const e of entries) {
  console.log(e.padEnd(50), med(res[e].ms).toFixed(1), "ms", med(res[e].rss).toFixed(1), "MB");
}
