/** Every load run of the bench, in order, on one database: the floor (the link function, and the
 * least SQL beside it), the naive client, the gateway over HTTP, and the floor on the small data
 * set. Each run starts after a vacuum, with the same clients; the two sides of a pgbench ratio
 * alternate. */
import { batches, betweenRuns, loadDataset, seedIdempotencyRecords } from "./dataset.ts";
import { type BenchDb, SMALL_DB } from "./database.ts";
import { type Gateway, LINK_PATH, startGateway } from "./gateway.ts";
import { type GatewayLoad, type HttpLoadOptions, runGatewayLoad } from "./http_load.ts";
import { type LoadResult, mergeLoads } from "./load.ts";
import { memoryMb, resetPeakRss } from "./proc.ts";
import { mergeRuns, type PgbenchRun, runPgbench } from "./pgbench.ts";
import { FUNCTION_SCRIPT, LEAST_SQL_SCRIPT, NAIVE_SCRIPT } from "./scripts.ts";
import type { Size } from "./sizes.ts";

export interface Measurements {
  /** By batch size. */
  floor: Record<number, LoadResult>;
  leastSql: Record<number, LoadResult>;
  gateway: Record<number, GatewayLoad>;
  naive: LoadResult;
  /** The scaling pair: the floor at the biggest batch size on the main and the small set. */
  bigFloor: LoadResult;
  smallFloor: LoadResult;
  /** Peak resident memory of the gateway's server process over its runs, MB. */
  gatewayPeakRssMb: number;
  /** The gateway at IDEMPOTENCY_BATCH (or the smallest batch) with an Idempotency-Key on every
   * request (`load`), and `without` it, alternating in rounds of their own. */
  idempotent?: { batch: number; load: GatewayLoad; without: GatewayLoad };
}

/** The batch the Idempotency-Key figure is stated for (issue 22: at least 0.9x without it). */
export const IDEMPOTENCY_BATCH = 10;

export type Progress = (message: string) => void;

export async function measureLoads(db: BenchDb, size: Size, say: Progress): Promise<Measurements> {
  const main = db.control();
  // The webhook figures draw their batches from this set too.
  const drawn = [...new Set([...size.batchSizes, size.webhookBatch])].sort((a, b) => a - b);
  const shape = { ...size, batchSizes: drawn };
  say(`loading ${size.orgs} orgs × ${size.contactsPerOrg} contacts`);
  await loadDataset(main, shape);
  say(`loading the small set: ${size.smallOrgs} orgs × ${size.smallContactsPerOrg} contacts`);
  const biggest = Math.max(...size.batchSizes);
  await loadDataset(db.control(SMALL_DB), {
    ...size,
    orgs: size.smallOrgs,
    contactsPerOrg: size.smallContactsPerOrg,
    batchSizes: [biggest],
  });

  const load = { clients: size.clients, warmupSeconds: size.warmupSeconds, seconds: size.seconds };
  interface Load {
    name: string;
    script: string;
    vars: Record<string, number>;
    database?: string;
  }
  const once = async (l: Load, seconds: number) => {
    const database = l.database ?? "postgres";
    await betweenRuns(db.control(database));
    say(l.name);
    return await runPgbench(db, {
      script: l.script,
      vars: l.vars,
      database,
      ...load,
      seconds,
      transactions: size.pgbenchTransactions,
    });
  };
  // The loads of a ratio alternate, in rounds that add up to the measured time, so that a change
  // in the shared machine's background load falls on every side alike.
  const roundSeconds = Math.max(1, Math.round(size.seconds / size.rounds));
  const rounds = async (runs: (() => Promise<void>)[]) => {
    for (let i = 0; i < size.rounds; i++) for (const run of runs) await run();
  };
  const pair = async (a: Load, b: Load): Promise<[LoadResult, LoadResult]> => {
    const runs: [PgbenchRun[], PgbenchRun[]] = [[], []];
    await rounds([
      async () => void runs[0].push(await once(a, roundSeconds)),
      async () => void runs[1].push(await once(b, roundSeconds)),
    ]);
    return [mergeRuns(runs[0]), mergeRuns(runs[1])];
  };

  say("starting deno task dev on the bench database");
  const gw = await startGateway(db.url());
  // The figure is the peak under the load: start-up (compiling modules, the OpenAPI document the
  // readiness probe asks for) is not part of it.
  resetPeakRss(gw.serverPid());
  const floor: Record<number, LoadResult> = {};
  const leastSql: Record<number, LoadResult> = {};
  const gateway: Record<number, GatewayLoad> = {};
  let gatewayPeakRssMb = 0;
  const idempotencyBatch = size.batchSizes.includes(IDEMPOTENCY_BATCH)
    ? IDEMPOTENCY_BATCH
    : Math.min(...size.batchSizes);
  let idempotent: Measurements["idempotent"];
  try {
    for (const batch of size.batchSizes) {
      const vars = { size: batch, batches: size.batchesPerSize };
      const requests = (await batches(main, batch, 2_000)).map((b) => ({
        path: LINK_PATH(b.company_id),
        key: b.key,
        body: JSON.stringify({ contact_ids: b.contact_ids }),
      }));
      const runs: [PgbenchRun[], PgbenchRun[], GatewayLoad[]] = [[], [], []];
      // The floor, the least SQL and the gateway of one batch size side by side.
      await rounds([
        async () =>
          void runs[0].push(
            await once({
              name: `floor: link function, batch ${batch}`,
              script: FUNCTION_SCRIPT,
              vars,
            }, roundSeconds),
          ),
        async () =>
          void runs[1].push(
            await once(
              { name: `floor: least SQL, batch ${batch}`, script: LEAST_SQL_SCRIPT, vars },
              roundSeconds,
            ),
          ),
        async () => {
          await betweenRuns(main);
          say(`gateway over HTTP (wrk), batch ${batch}`);
          runs[2].push(await runGatewayLoad(db, gw, requests, { ...load, seconds: roundSeconds }));
        },
      ]);
      floor[batch] = mergeRuns(runs[0]);
      leastSql[batch] = mergeRuns(runs[1]);
      gateway[batch] = mergeGatewayLoads(runs[2]);
    }
    say(`the Idempotency-Key pair, batch ${idempotencyBatch}, ${size.idempotencyRounds} rounds`);
    idempotent = await idempotencyPair(db, gw, idempotencyBatch, load, {
      rounds: size.idempotencyRounds,
      seconds: roundSeconds,
      records: size.idempotencyRecords,
    }, say);
    gatewayPeakRssMb = memoryMb(gw.serverPid(), "VmHWM");
  } finally {
    await gw.stop();
  }

  const naive = mergeRuns([
    await once({
      name: "naive: one UPDATE per contact",
      script: NAIVE_SCRIPT,
      vars: { orgs: size.orgs, contacts: size.contactsPerOrg, companies: size.companiesPerOrg },
    }, size.seconds),
  ]);
  // Scaling: the floor on both data sets, alternating.
  const scalingVars = { size: biggest, batches: size.batchesPerSize };
  const [bigFloor, smallFloor] = await pair(
    { name: `scaling: floor, batch ${biggest}`, script: FUNCTION_SCRIPT, vars: scalingVars },
    {
      name: `scaling: floor on ${size.smallOrgs * size.smallContactsPerOrg} contacts`,
      script: FUNCTION_SCRIPT,
      vars: scalingVars,
      database: SMALL_DB,
    },
  );
  return { floor, leastSql, gateway, naive, bigFloor, smallFloor, gatewayPeakRssMb, idempotent };
}

function mergeGatewayLoads(runs: GatewayLoad[]): GatewayLoad {
  const statuses: Record<string, number> = {};
  for (const r of runs) {
    for (const [k, n] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + n;
  }
  const warmupErrors = runs.reduce((n, r) => n + r.warmupErrors, 0);
  return { ...mergeLoads(runs), statuses, warmupErrors };
}

/** `deno task bench --idempotency`: only the Idempotency-Key pair, on the default data set (a
 * tenth of it hid a cost that grew with the number of keys): "what does the header cost" in a
 * few minutes rather than the whole bench's quarter of an hour. */
export async function measureIdempotency(
  db: BenchDb,
  size: Size,
  say: Progress,
): Promise<NonNullable<Measurements["idempotent"]>> {
  const batch = IDEMPOTENCY_BATCH;
  const shape = { ...size, batchSizes: [batch] };
  say(`loading ${shape.orgs} orgs × ${size.contactsPerOrg} contacts`);
  await loadDataset(db.control(), shape);
  const load = { clients: size.clients, warmupSeconds: size.warmupSeconds, seconds: 0 };
  const roundSeconds = Math.max(1, Math.round(size.seconds / size.rounds));
  const gw = await startGateway(db.url());
  try {
    return await idempotencyPair(db, gw, batch, load, {
      rounds: size.idempotencyRounds,
      seconds: roundSeconds,
      records: size.idempotencyRecords,
    }, say);
  } finally {
    await gw.stop();
  }
}

/** The gateway at `batch` without and with an Idempotency-Key on every request (each its own, so
 * every one is a first request: the work, and its answer sealed and stored), alternating in
 * rounds. */
async function idempotencyPair(
  db: BenchDb,
  gw: Gateway,
  batch: number,
  load: Omit<HttpLoadOptions, "idempotency">,
  round: { rounds: number; seconds: number; records: number },
  say: Progress,
): Promise<NonNullable<Measurements["idempotent"]>> {
  const main = db.control();
  await seedIdempotencyRecords(main, round.records);
  const requests = (await batches(main, batch, 2_000)).map((b) => ({
    path: LINK_PATH(b.company_id),
    key: b.key,
    body: JSON.stringify({ contact_ids: b.contact_ids }),
  }));
  const runs: [GatewayLoad[], GatewayLoad[]] = [[], []];
  // A round more, first, and not counted: on a data set just loaded, the first round measured
  // the cache filling (both sides at half the rate of the rounds after it), not the header.
  for (let i = -1; i < round.rounds; i++) {
    for (const idempotency of [false, true]) {
      await betweenRuns(main);
      say(
        `gateway over HTTP (wrk), batch ${batch}${idempotency ? ", Idempotency-Key" : ""}` +
          (i < 0 ? " (warming, not counted)" : ""),
      );
      const run = await runGatewayLoad(db, gw, requests, {
        ...load,
        seconds: round.seconds,
        idempotency,
      });
      say(
        `  ${Math.round(run.perSecond)} req/s; CPU per request: gateway ` +
          `${run.gatewayCpuMs.toFixed(2)} ms, Postgres ${run.pgCpuMs.toFixed(2)} ms`,
      );
      if (i >= 0) runs[idempotency ? 1 : 0].push(run);
    }
  }
  return { batch, load: mergeGatewayLoads(runs[1]), without: mergeGatewayLoads(runs[0]) };
}
