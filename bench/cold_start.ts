/**
 * Cold start of the deployed entry point (supabase/functions/api-gateway/index.ts) against a bare
 * Deno + Hono server (bench/bare_server.ts), spawns alternating, in three modes:
 *   run            `deno run`, V8's code cache warm (filled by a spawn that is not measured)
 *   no-code-cache  `deno run --no-code-cache`: every module compiled from source, as a deployed
 *                  isolate boots from its eszip
 *   bundle         the `deno bundle --code-splitting` output of each, run (what the gateway
 *                  imports lazily, zod for one, becomes chunks of its own, as in the module graph)
 * and two first requests:
 *   first answer   a keyless POST to the link route (401) against a request to the bare server
 *   first link     an authenticated link answered from the database: the gateway's supabase
 *                  adapter talks to a PostgREST stand-in on loopback that runs the very SQL
 *                  function on the bench's Postgres; the bare server forwards one request to the
 *                  same stand-in (the same database round trip), so no cost can hide in the first
 *                  real request.
 * Memory: VmRSS right after the first answer. What runs: the JavaScript V8 actually evaluated
 * before each first answer (its coverage: modules and bytes), not the npm graph's size.
 * Beside them, when given a checkout of the code before the cold-start work (BEFORE_COMMIT), its
 * entry point is spawned in the same rounds: the "before" of every figure, from the same run.
 */
import { freePort } from "../local/net.ts";
import { connectPostgres } from "../local/postgres.ts";
import { createSqlDb, postgresJsQuery } from "../local/sql_db.ts";
import { percentile, sleep } from "./load.ts";
import { memoryMb } from "./proc.ts";

const REPO = new URL("../", import.meta.url).pathname;
export const GATEWAY_ENTRY = "supabase/functions/api-gateway/index.ts";
export const BARE_ENTRY = "bench/bare_server.ts";
/** What the platform grants an edge function, for both. */
const PERMISSIONS = ["--allow-net", "--allow-env", "--cached-only"];

/** The code the cold-start issue measured (supabase-js, zod-openapi at start-up). */
export const BEFORE_COMMIT = "882a485";

export const MODES = ["run", "no-code-cache", "bundle"] as const;
export type Mode = typeof MODES[number];
export const REQUESTS = ["first answer", "first link"] as const;
export type FirstRequest = typeof REQUESTS[number];

export interface Spawns {
  /** Milliseconds from spawn to the answer, each spawn. */
  ms: number[];
  /** VmRSS right after the answer, MB, each spawn. */
  rssMb: number[];
}

export interface Evaluated {
  modules: number;
  bytes: number;
  /** Bytes by package (`local` for the repository's own modules). */
  byPackage: Record<string, number>;
}

type Side = "gateway" | "bare" | "before";

export interface ColdStarts {
  spawns: number;
  /** [mode][request][side]; `before` when a checkout of BEFORE_COMMIT was given. */
  times: Record<Mode, Record<FirstRequest, { gateway: Spawns; bare: Spawns; before?: Spawns }>>;
  /** What the gateway evaluated before each first answer (mode run), and the bare server. */
  evaluated: Record<FirstRequest, { gateway: Evaluated; bare: Evaluated }>;
  /** Bytes of each `deno bundle` output, all chunks, and of the gateway's entry chunk. */
  bundleBytes: { gateway: number; bare: number; gatewayEntry: number };
}

export const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);

/** A link request the database accepts: a key and a batch of the bench's data. */
export interface LinkRequest {
  key: string;
  companyId: string;
  contactIds: string[];
}

/** PostgREST's RPC endpoint, as far as the gateway uses it, on the bench's database: `POST
 * /rest/v1/rpc/<fn>` with the named arguments as the body, run by the SQL adapter as
 * service_role (the role PostgREST uses). */
function startPostgrestStandIn(databaseUrl: string) {
  const pool = connectPostgres(databaseUrl, { max: 2 });
  const db = createSqlDb(postgresJsQuery(pool));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const fn = new URL(req.url).pathname.replace(/^\/rest\/v1\/rpc\//, "");
    const args = await req.json() as Record<string, unknown>;
    return Response.json(await db.call(fn, args));
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: async () => {
      await server.shutdown();
      await pool.end();
    },
  };
}

export async function measureColdStarts(
  spawns: number,
  database: { url: string; link: LinkRequest },
  /** A checkout of BEFORE_COMMIT (its own deno.json and lock), measured beside the others. */
  beforeDir?: string,
): Promise<ColdStarts> {
  const standIn = startPostgrestStandIn(database.url);
  const { link } = database;
  const linkBody = JSON.stringify({ contact_ids: link.contactIds });
  const env = {
    SUPABASE_URL: standIn.url,
    SUPABASE_SERVICE_ROLE_KEY: "bench-service-role-key",
    // The bare server's one database round trip: the same function, the same batch.
    BARE_UPSTREAM: `${standIn.url}/rest/v1/rpc/api_authorize`,
    BARE_UPSTREAM_BODY: JSON.stringify({
      p_key_hash: "0".repeat(64),
      p_permission: "contacts:write",
    }),
  };
  const bundles = await Deno.makeTempDir({ prefix: "bench-bundles-" });
  try {
    const entries: Record<Mode, Record<Side, string[]>> = {
      "run": { gateway: [GATEWAY_ENTRY], bare: [BARE_ENTRY], before: [GATEWAY_ENTRY] },
      "no-code-cache": {
        gateway: ["--no-code-cache", GATEWAY_ENTRY],
        bare: ["--no-code-cache", BARE_ENTRY],
        before: ["--no-code-cache", GATEWAY_ENTRY],
      },
      "bundle": {
        gateway: [`${bundles}/gateway/index.js`],
        bare: [`${bundles}/bare/bare_server.js`],
        before: [`${bundles}/before/index.js`],
      },
    };
    // The before side runs in its own checkout, with its own configuration and lock.
    const cwd: Record<Side, string> = { gateway: REPO, bare: REPO, before: beforeDir ?? REPO };
    const sides: Side[] = beforeDir ? ["gateway", "bare", "before"] : ["gateway", "bare"];
    await run(["cache", GATEWAY_ENTRY, BARE_ENTRY]);
    const bundle = (side: Side, entry: string) =>
      run(["bundle", "-q", "--code-splitting", "--outdir", `${bundles}/${side}`, entry], cwd[side]);
    await bundle("gateway", GATEWAY_ENTRY);
    await bundle("bare", BARE_ENTRY);
    if (beforeDir) {
      await run(["cache", GATEWAY_ENTRY], beforeDir);
      await bundle("before", GATEWAY_ENTRY);
    }

    const gatewayLink: Probe = {
      path: `/api-gateway/v1/companies/${link.companyId}/contacts/link`,
      method: "POST",
      headers: { authorization: `Bearer ${link.key}`, "content-type": "application/json" },
      body: linkBody,
      expect: 200,
    };
    const keyless: Probe = { path: "/api-gateway/v1/companies/x/contacts/link", method: "POST" };
    const requests: Record<FirstRequest, Record<Side, Probe>> = {
      "first answer": { gateway: keyless, bare: { path: "/", method: "GET" }, before: keyless },
      "first link": {
        gateway: gatewayLink,
        bare: { path: "/", method: "POST", body: linkBody, expect: 200 },
        before: gatewayLink,
      },
    };

    // Fills the code caches (not measured), and proves each request is answered as it should.
    for (const mode of MODES) {
      for (const request of REQUESTS) {
        for (const side of sides) {
          await spawnOnce(entries[mode][side], requests[request][side], env, cwd[side]);
        }
      }
    }

    const empty = (): Spawns => ({ ms: [], rssMb: [] });
    const times = Object.fromEntries(MODES.map((m) => [
      m,
      Object.fromEntries(
        REQUESTS.map((r) => [r, Object.fromEntries(sides.map((side) => [side, empty()]))]),
      ),
    ])) as ColdStarts["times"];
    for (let i = 0; i < spawns; i++) {
      for (const mode of MODES) {
        for (const request of REQUESTS) {
          // Alternating which side goes first, so a drift of the machine falls on both.
          const order = i % 2 ? [...sides].reverse() : sides;
          for (const side of order) {
            const once = await spawnOnce(
              entries[mode][side],
              requests[request][side],
              env,
              cwd[side],
            );
            times[mode][request][side]!.ms.push(once.ms);
            times[mode][request][side]!.rssMb.push(once.rssMb);
          }
        }
      }
    }

    const evaluated = {} as ColdStarts["evaluated"];
    for (const request of REQUESTS) {
      evaluated[request] = {
        gateway: await evaluatedBefore(GATEWAY_ENTRY, requests[request].gateway, env),
        bare: await evaluatedBefore(BARE_ENTRY, requests[request].bare, env),
      };
    }
    return {
      spawns,
      times,
      evaluated,
      bundleBytes: {
        gateway: await dirBytes(`${bundles}/gateway`),
        bare: await dirBytes(`${bundles}/bare`),
        gatewayEntry: (await Deno.stat(`${bundles}/gateway/index.js`)).size,
      },
    };
  } finally {
    await standIn.close();
    await Deno.remove(bundles, { recursive: true }).catch(() => {});
  }
}

interface Probe {
  path: string;
  method: string;
  headers?: Record<string, string>;
  body?: string;
  /** The status the answer must have (any, when not given). */
  expect?: number;
}

async function ask(port: number, probe: Probe): Promise<Response> {
  return await fetch(`http://127.0.0.1:${port}${probe.path}`, {
    method: probe.method,
    headers: probe.headers,
    body: probe.body,
  });
}

async function spawnOnce(
  args: string[],
  probe: Probe,
  env: Record<string, string>,
  cwd = REPO,
): Promise<{ ms: number; rssMb: number }> {
  const port = freePort();
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, ...args],
    cwd,
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
        throw new Error(`${args.join(" ")} exited before answering:\n${err}`);
      }
      let res: Response;
      try {
        res = await ask(port, probe);
      } catch {
        await sleep(1);
        if (performance.now() - started > 30_000) throw new Error(`${args.join(" ")}: no answer`);
        continue;
      }
      const text = await res.text();
      const ms = performance.now() - started;
      const rssMb = memoryMb(child.pid, "VmRSS");
      if (probe.expect !== undefined && res.status !== probe.expect) {
        throw new Error(`${args.join(" ")}: ${res.status} ${text.slice(0, 300)}`);
      }
      return { ms, rssMb };
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await status;
    await child.stderr.cancel().catch(() => {});
  }
}

/** The JavaScript evaluated before `probe`'s answer: V8's coverage of a run that imports the
 * entry, asks once, and exits (coverage is written at exit). */
async function evaluatedBefore(
  entry: string,
  probe: Probe,
  env: Record<string, string>,
): Promise<Evaluated> {
  const dir = await Deno.makeTempDir({ prefix: "bench-coverage-" });
  const port = freePort();
  const wrapper = `${dir}/wrapper.ts`;
  await Deno.writeTextFile(
    wrapper,
    `await import(${JSON.stringify(new URL(entry, `file://${REPO}`).href)});
     for (;;) {
       try {
         const res = await fetch("http://127.0.0.1:${port}${probe.path}", ${
      JSON.stringify({ method: probe.method, headers: probe.headers, body: probe.body })
    });
         await res.text();
         break;
       } catch { await new Promise((r) => setTimeout(r, 2)); }
     }
     Deno.exit(0);`,
  );
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `--config=${REPO}deno.json`,
        `--coverage=${dir}/cov`,
        wrapper,
      ],
      cwd: REPO,
      env: { ...env, DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${port}` },
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    const byPackage: Record<string, number> = {};
    let modules = 0;
    let bytes = 0;
    for await (const file of Deno.readDir(`${dir}/cov`)) {
      const data = JSON.parse(await Deno.readTextFile(`${dir}/cov/${file.name}`)) as {
        url: string;
        functions: { ranges: { endOffset: number }[] }[];
      };
      if (data.url.startsWith("ext:") || data.url.includes("wrapper.ts")) continue;
      // The module's own top-level range spans its whole source.
      const size = Math.max(0, ...data.functions.flatMap((f) => f.ranges.map((r) => r.endOffset)));
      const pkg = /registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\//.exec(data.url)?.[1] ?? "local";
      byPackage[pkg] = (byPackage[pkg] ?? 0) + size;
      modules++;
      bytes += size;
    }
    return { modules, bytes, byPackage };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function run(args: string[], cwd = REPO): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`deno ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile) total += (await Deno.stat(`${dir}/${entry.name}`)).size;
  }
  return total;
}
