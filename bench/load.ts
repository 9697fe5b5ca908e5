/** What one load run measured: throughput and latency from the load generator, and what the
 * run cost the database and the gateway, per request. */
export interface LoadResult {
  /** Requests (pgbench: transactions) completed inside the measured window. */
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Failed requests: non-200 answers, socket errors, failed transactions. */
  errors: number;
  /** pgbench: transactions retried after a deadlock. */
  retried?: number;
  /** Committed transactions per request (pg_stat_database.xact_commit delta / requests). */
  callsPerRequest: number;
  /** CPU seconds per request, in milliseconds: Postgres (all its processes) and the gateway
   * (its process tree; 0 when there is none). */
  pgCpuMs: number;
  gatewayCpuMs: number;
}

/** The p-th percentile (0-100) of sorted numbers. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Rounds of one load merged when only their summaries are known (wrk): throughput over the
 * summed windows; latency percentiles and costs weighted by requests (the percentiles are thus an
 * approximation of the pooled ones). */
export function mergeLoads<T extends LoadResult>(runs: T[]): T {
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  const weighted = (f: (r: LoadResult) => number) =>
    runs.reduce((n, r) => n + f(r) * r.requests, 0) / requests;
  return {
    ...runs[0],
    requests,
    seconds,
    perSecond: requests / seconds,
    p50Ms: weighted((r) => r.p50Ms),
    p99Ms: weighted((r) => r.p99Ms),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    callsPerRequest: weighted((r) => r.callsPerRequest),
    pgCpuMs: weighted((r) => r.pgCpuMs),
    gatewayCpuMs: weighted((r) => r.gatewayCpuMs),
  };
}
