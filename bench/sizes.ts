/** How big and how long: the default run (docs/benchmarks.md) and `--quick` (the smoke test that
 * runs inside `deno task test`, so the bench cannot rot). */
export interface Size {
  name: "default" | "quick";
  /** The main data set: orgs × contacts per org, a few companies each. */
  orgs: number;
  contactsPerOrg: number;
  companiesPerOrg: number;
  /** The small data set of the scaling figure (same shape, fewer contacts). */
  smallOrgs: number;
  smallContactsPerOrg: number;
  /** Pre-drawn random batches per batch size (pgbench and wrk pick among them). */
  batchesPerSize: number;
  batchSizes: number[];
  /** Concurrent clients, for pgbench and wrk alike. */
  clients: number;
  /** Whole seconds of warm-up (0: none) and of measurement per load run. */
  warmupSeconds: number;
  seconds: number;
  /** pgbench: the two loads of a ratio alternate in this many rounds (seconds split among them). */
  rounds: number;
  /** The Idempotency-Key pair (bench/measure.ts): its own rounds, without and with the header. */
  idempotencyRounds: number;
  /** ... and the records in its table before it (bench/dataset.ts, seedIdempotencyRecords). */
  idempotencyRecords: number;
  /** pgbench: a fixed number of transactions per client instead of a timed window. */
  pgbenchTransactions?: number;
  /** Cold starts per server (the median is reported). */
  spawns: number;
  /** The hot-org figures (bench/hot_org.ts): their own data set, batch sizes, and rounds of
   * `hotSeconds` per load. */
  hotOrgs: number;
  hotContactsPerOrg: number;
  hotBatchSizes: number[];
  hotRounds: number;
  hotSeconds: number;
  /** Webhooks (bench/webhook_throughput.ts, bench/webhook_latency.ts): the link function's batch
   * with and without a subscribed endpoint, and how many links the latency figure times. */
  webhookBatch: number;
  latencyEvents: number;
  /** Deliveries of the dispatch throughput figure (bench/webhook_dispatch.ts), per run. */
  dispatchDeliveries: number;
  /** Pages (bench/pages.ts): the contacts of its one company, and how many calls each of its two
   * cursor pages is timed over. */
  pagesContacts: number;
  pagesRepeats: number;
}

export const DEFAULT: Size = {
  name: "default",
  orgs: 1_000,
  contactsPerOrg: 1_000,
  companiesPerOrg: 3,
  smallOrgs: 100,
  smallContactsPerOrg: 100,
  batchesPerSize: 5_000,
  batchSizes: [1, 10, 100],
  clients: 8,
  warmupSeconds: 2,
  seconds: 10,
  rounds: 2,
  // Two, as the other ratios take, read anywhere from 0.83 to 0.96 for one build on this machine.
  idempotencyRounds: 6,
  idempotencyRecords: 50_000,
  spawns: 11,
  hotOrgs: 100,
  hotContactsPerOrg: 10_000,
  hotBatchSizes: [10, 100],
  hotRounds: 3,
  hotSeconds: 4,
  webhookBatch: 10,
  latencyEvents: 300,
  dispatchDeliveries: 2_000,
  pagesContacts: 200_000,
  pagesRepeats: 51,
};

export const QUICK: Size = {
  name: "quick",
  orgs: 20,
  contactsPerOrg: 200,
  companiesPerOrg: 3,
  smallOrgs: 10,
  smallContactsPerOrg: 100,
  batchesPerSize: 200,
  // The smallest and the biggest batch: every figure's code runs (the rows need both), at two
  // thirds of the CPU of all three (the smoke test runs inside the CPU-bound `deno task test`).
  batchSizes: [1, 100],
  clients: 8,
  warmupSeconds: 0,
  seconds: 1,
  rounds: 1,
  idempotencyRounds: 1,
  idempotencyRecords: 1_000,
  pgbenchTransactions: 10,
  spawns: 1,
  hotOrgs: 5,
  hotContactsPerOrg: 10_000,
  hotBatchSizes: [10, 100],
  hotRounds: 1,
  hotSeconds: 1,
  webhookBatch: 10,
  latencyEvents: 10,
  dispatchDeliveries: 100,
  // Ten pages: the code runs, the figures mean little.
  pagesContacts: 1_000,
  pagesRepeats: 3,
};

/** The biggest batch: the one the targets are stated for. */
export const TARGET_BATCH = 100;
