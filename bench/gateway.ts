/** The gateway as a user runs it: `deno task dev` with DATABASE_URL, in its own process tree.
 * Relies only on the dev server's documented surface: PORT, HOST, DATABASE_URL, WEBHOOK_DISPATCH,
 * WEBHOOK_SECRETS_KEYS and the OpenAPI document answering once it is ready. */
import { freePort } from "../local/net.ts";
import {
  newKeyEntry,
  parseKeyring,
} from "../supabase/functions/api-gateway/webhooks/secret_keys.ts";
import { commandLine, processTree, treeCpuSeconds } from "./proc.ts";
import { sleep } from "./load.ts";

const REPO = new URL("../", import.meta.url).pathname;
export const LINK_PATH = (companyId: string) =>
  `/functions/v1/api-gateway/v1/companies/${companyId}/contacts/link`;

/** The run's WEBHOOK_SECRETS_KEYS: the endpoints the bench writes directly hold their secrets
 * encrypted under it, as the gateway it starts expects. */
const SECRETS_KEYS = newKeyEntry("bench");
export const benchKeyring = await parseKeyring(SECRETS_KEYS);

const LOG_FILE = Deno.env.get("BENCH_GATEWAY_LOG");
/** For profiling: how to start the gateway instead of `deno task dev`, e.g.
 * BENCH_GATEWAY_ARGS="run -A --cpu-prof --cpu-prof-dir=/tmp/prof local/dev_server.ts". */
const ARGS = Deno.env.get("BENCH_GATEWAY_ARGS")?.split(" ").filter(Boolean) ?? ["task", "dev"];

export interface Gateway {
  base: string;
  /** The `deno task dev` process: the root of the gateway's tree. */
  pid: number;
  /** The process that serves (the `deno run` under the task runner). */
  serverPid(): number;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export interface GatewayOptions {
  /** Run the dev server's webhook dispatcher (off for the request-serving runs, whose figures
   * count every commit: its claim every second would be counted as the requests'). */
  webhooks?: boolean;
}

export async function startGateway(
  databaseUrl: string,
  options: GatewayOptions = {},
): Promise<Gateway> {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ARGS,
    cwd: REPO,
    env: {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: databaseUrl,
      WEBHOOK_DISPATCH: options.webhooks ? "on" : "off",
      WEBHOOK_SECRETS_KEYS: SECRETS_KEYS,
    },
    stdin: "null",
    // One access-log line per request: discarded, as a platform's log shipper would take it off
    // the process's hands (BENCH_GATEWAY_LOG=<file> keeps it, for debugging).
    stdout: LOG_FILE ? "piped" : "null",
    stderr: "piped",
  }).spawn();
  if (LOG_FILE) {
    Deno.open(LOG_FILE, { write: true, create: true, truncate: true })
      .then((file) => child.stdout.pipeTo(file.writable));
  }
  let stderr = "";
  (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      if (stderr.length < 20_000) stderr += chunk;
      if (LOG_FILE) await Deno.writeTextFile(`${LOG_FILE}.err`, chunk, { append: true });
    }
  })();
  let exited = false;
  child.status.then(() => exited = true);

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`deno task dev exited before answering:\n${stderr}`);
    if (Date.now() > deadline) throw new Error(`deno task dev did not answer:\n${stderr}`);
    try {
      const res = await fetch(`${base}/functions/v1/api-gateway/v1/openapi.json`);
      await res.body?.cancel();
      if (res.ok) break;
    } catch { /* not listening yet */ }
    await sleep(50);
  }

  return {
    base,
    pid: child.pid,
    serverPid() {
      const pids = processTree(child.pid);
      return pids.find((p) => commandLine(p).some((a) => /dev_server\.ts$|\.ts$/.test(a))) ??
        pids.at(-1)!;
    },
    cpuSeconds: () => treeCpuSeconds(child.pid),
    async stop() {
      // Every process of the tree, the server first, so none outlives the bench.
      const pids = processTree(child.pid).reverse();
      const alive = () => pids.filter((p) => commandLine(p).length > 0);
      for (const pid of pids) signal(pid, "SIGTERM");
      for (let i = 0; i < 100 && alive().length > 0; i++) await sleep(50);
      for (const pid of alive()) signal(pid, "SIGKILL");
      await child.status;
    },
  };
}

function signal(pid: number, name: Deno.Signal): void {
  try {
    Deno.kill(pid, name);
  } catch { /* already gone */ }
}
