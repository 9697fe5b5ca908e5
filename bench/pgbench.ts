/** Runs a pgbench custom script against the bench database and measures it like every other
 * load: the transactions that end inside the measured window (after a warm-up in the same run,
 * so the backends' plan caches are warm), their latencies from pgbench's per-transaction log,
 * Postgres's CPU over the window, and committed transactions per pgbench transaction. */
import type { BenchDb } from "./database.ts";
import { type LoadResult, percentile, sleep } from "./load.ts";

export interface PgbenchOptions {
  /** The custom script (pgbench's `-f`). */
  script: string;
  /** `-D name=value` variables for the script. */
  vars: Record<string, string | number>;
  database: string;
  clients: number;
  warmupSeconds: number;
  seconds: number;
  /** Instead of a timed window: this many transactions per client, all of them measured (the
   * quick run, where pgbench's whole-second durations would be the slowest part). */
  transactions?: number;
  /** The role statements run as (the gateway's: service_role). */
  role?: string;
}

/** One run, with its latencies (ms, sorted) for merging rounds. */
export interface PgbenchRun {
  result: LoadResult;
  latencies: number[];
  /** Every transaction of the run, warm-up included. */
  transactions: number;
}

export async function runPgbench(db: BenchDb, opts: PgbenchOptions): Promise<PgbenchRun> {
  const dir = await Deno.makeTempDir({ prefix: "bench-pgbench-" });
  try {
    await Deno.writeTextFile(`${dir}/script.sql`, opts.script);
    await db.settle(opts.database);
    const xact0 = await db.xactCommit(opts.database);
    const total = Math.ceil(opts.warmupSeconds + opts.seconds + 0.3);
    const counted = opts.transactions ? ["-t", String(opts.transactions)] : ["-T", String(total)];
    const url = new URL(db.url(opts.database));
    const args = [
      `--host=${url.hostname}`,
      `--port=${url.port}`,
      "--username=postgres",
      "-n", // no vacuum of pgbench's own tables: there are none
      // Deadlocks (possible for the least SQL, which locks rows in no fixed order) are retried,
      // as a client would; what still fails counts as an error.
      "--max-tries=10",
      "-M",
      "prepared",
      "-c",
      String(opts.clients),
      "-j",
      "2",
      ...counted,
      "-l",
      "--log-prefix=tx",
      "-f",
      "script.sql",
      ...Object.entries(opts.vars).flatMap(([k, v]) => ["-D", `${k}=${v}`]),
      opts.database,
    ];
    const child = new Deno.Command("pgbench", {
      args,
      cwd: dir,
      env: { PGOPTIONS: `-c role=${opts.role ?? "service_role"}` },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();

    let t0 = Date.now() / 1000;
    let cpu0 = db.postgresCpuSeconds();
    let t1 = Infinity;
    let cpu1 = NaN;
    if (!opts.transactions) {
      await sleep(opts.warmupSeconds * 1000);
      t0 = Date.now() / 1000;
      cpu0 = db.postgresCpuSeconds();
      await sleep(opts.seconds * 1000);
      t1 = Date.now() / 1000;
      cpu1 = db.postgresCpuSeconds();
    }
    const out = await output;
    if (opts.transactions) {
      t0 = 0;
      t1 = Date.now() / 1000;
      cpu1 = db.postgresCpuSeconds();
    }
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (!/number of transactions actually processed/.test(text)) {
      throw new Error(`pgbench did not run (exit ${out.code}):\n${text}`);
    }
    await db.settle(opts.database);
    const xact1 = await db.xactCommit(opts.database);

    // Log lines: client_id transaction_no time_us script_no time_epoch time_us_part; a failed
    // transaction has "failed" in place of its latency.
    const latencies: number[] = [];
    let all = 0;
    let first = Infinity;
    let last = 0;
    let failed = Number(text.match(/number of failed transactions: (\d+)/)?.[1] ?? 0);
    if (/aborted|error/i.test(text) && !out.success) failed++;
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.name.startsWith("tx.")) continue;
      for (const line of (await Deno.readTextFile(`${dir}/${entry.name}`)).split("\n")) {
        const f = line.split(" ");
        if (f.length < 6) continue;
        all++;
        const end = Number(f[4]) + Number(f[5]) / 1e6;
        if (end < t0 || end > t1 || !/^\d+$/.test(f[2])) continue;
        first = Math.min(first, end - Number(f[2]) / 1e6);
        last = Math.max(last, end);
        latencies.push(Number(f[2]) / 1000);
      }
    }
    latencies.sort((a, b) => a - b);
    const requests = latencies.length;
    // Counted mode: from the first transaction's start to the last one's end.
    const seconds = opts.transactions ? (last - first) : t1 - t0;
    const result: LoadResult = {
      requests,
      seconds,
      perSecond: requests / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      errors: failed,
      retried: Number(text.match(/number of transactions retried: (\d+)/)?.[1] ?? 0),
      callsPerRequest: (xact1 - xact0) / all,
      pgCpuMs: ((cpu1 - cpu0) / requests) * 1000,
      gatewayCpuMs: 0,
    };
    return { result, latencies, transactions: all };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs of one load merged: throughput over their summed windows, percentiles over all their
 * transactions, costs weighted by transactions. */
export function mergeRuns(runs: PgbenchRun[]): LoadResult {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const rs = runs.map((r) => r.result);
  const requests = rs.reduce((n, r) => n + r.requests, 0);
  const seconds = rs.reduce((n, r) => n + r.seconds, 0);
  const weighted = (f: (r: LoadResult) => number) =>
    rs.reduce((n, r) => n + f(r) * r.requests, 0) / requests;
  return {
    requests,
    seconds,
    perSecond: requests / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors: rs.reduce((n, r) => n + r.errors, 0),
    retried: rs.reduce((n, r) => n + (r.retried ?? 0), 0),
    callsPerRequest: weighted((r) => r.callsPerRequest),
    pgCpuMs: weighted((r) => r.pgCpuMs),
    gatewayCpuMs: 0,
  };
}
