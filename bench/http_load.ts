/** The gateway end to end: wrk over HTTP against `deno task dev`, measured like the floor (a
 * warm-up first, then the window), plus the gateway's own CPU and its database calls. */
import type { BenchDb } from "./database.ts";
import type { Gateway } from "./gateway.ts";
import type { LoadResult } from "./load.ts";
import { runWrk, type WrkRequest, wrkScript } from "./wrk.ts";

/** A gateway load, with the statuses of its non-200 answers (warm-ups included). */
export type GatewayLoad = LoadResult & {
  statuses: Record<string, number>;
  /** Failed answers during the warm-ups (not counted in `errors`). */
  warmupErrors: number;
};

export interface HttpLoadOptions {
  clients: number;
  warmupSeconds: number;
  seconds: number;
  /** Every request with an Idempotency-Key of its own (each a first request, none a replay). */
  idempotency?: boolean;
}

export async function runGatewayLoad(
  db: BenchDb,
  gateway: Gateway,
  requests: WrkRequest[],
  opts: HttpLoadOptions,
): Promise<GatewayLoad> {
  const keys = opts.idempotency ? crypto.randomUUID() : undefined;
  const script = wrkScript(requests, keys);
  const load = (seconds: number) =>
    runWrk({ base: gateway.base, script, connections: opts.clients, seconds });
  // Calls per request: the gateway's sessions are ended before the warm-up and after the window
  // so that every transaction they committed is in the statistics (a backend flushes them as it
  // exits), and counted over the warm-up's requests and the window's. The pool reconnects during
  // the warm-up, whose answers are not the figure's (a request that met a session being ended
  // would be the bench's doing); they are reported apart.
  await db.settle();
  const xact0 = await db.xactCommit();
  // The pool finds its ended sessions on its next requests, and answers those 503: a round of
  // requests per connection takes that out of the window, also when there is no warm-up.
  const reconnects = await reconnect(gateway.base, requests, 2 * opts.clients, keys !== undefined);
  const warm = opts.warmupSeconds > 0 ? await load(opts.warmupSeconds) : null;
  const gw0 = gateway.cpuSeconds();
  const pg0 = db.postgresCpuSeconds();
  const run = await load(opts.seconds);
  const gw1 = gateway.cpuSeconds();
  const pg1 = db.postgresCpuSeconds();
  await db.settle();
  const xact1 = await db.xactCommit();

  const seconds = run.duration_us / 1e6;
  return {
    requests: run.requests,
    seconds,
    perSecond: run.requests / seconds,
    p50Ms: run.p50_us / 1000,
    p99Ms: run.p99_us / 1000,
    errors: run.non200 + run.socket_errors,
    warmupErrors: reconnects.failed + (warm ? warm.non200 + warm.socket_errors : 0),
    statuses: addCounts(warm?.statuses ?? {}, run.statuses),
    callsPerRequest: (xact1 - xact0) / (run.requests + reconnects.sent + (warm?.requests ?? 0)),
    pgCpuMs: ((pg1 - pg0) / run.requests) * 1000,
    gatewayCpuMs: ((gw1 - gw0) / run.requests) * 1000,
  };
}

/** `n` requests, side by side, of the load's own kind; how many did not answer 200. */
async function reconnect(base: string, requests: WrkRequest[], n: number, idempotency: boolean) {
  const statuses = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const r = requests[i % requests.length];
      const res = await fetch(`${base}${r.path}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${r.key}`,
          "content-type": "application/json",
          ...(idempotency ? { "idempotency-key": crypto.randomUUID() } : {}),
        },
        body: r.body,
      }).catch(() => null);
      await res?.body?.cancel();
      return res?.status ?? 0;
    }),
  );
  return { sent: n, failed: statuses.filter((s) => s !== 200).length };
}

function addCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const sum = { ...a };
  for (const [k, n] of Object.entries(b)) sum[k] = (sum[k] ?? 0) + n;
  return sum;
}
