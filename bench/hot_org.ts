/** The hot-org figures (issue 12): the link function under pgbench with every request from one
 * org, against the same load spread over all orgs, divided by the same ratio for the least SQL.
 * That "hot penalty" is 1 when one org is served as well as many (relative to what the database
 * itself does with one org's rows), and falls as an org's requests queue behind each other. On a
 * server of its own with Postgres's default durability (fsync, synchronous_commit and
 * full_page_writes on), as production runs it; beside the current function, the one from before
 * the usage counters were split into slots (bench/sql/hot_org_before.sql), in the same run. */
import { betweenRuns, drawBatches, loadDataset } from "./dataset.ts";
import { DURABLE_SETTINGS, startBenchDb } from "./database.ts";
import type { LoadResult } from "./load.ts";
import type { Progress } from "./measure.ts";
import { mergeRuns, type PgbenchRun, runPgbench } from "./pgbench.ts";
import { leastSqlScript, linkScript } from "./scripts.ts";
import type { Size } from "./sizes.ts";

/** The org every request of the one-org load comes from. */
const HOT_ORG = 1;
const TABLES = { spread: "bench.batches", one: "bench.one_org_batches" } as const;
type Mode = keyof typeof TABLES;

const LOADS = {
  fn: (table: string) => linkScript("public.link_contacts_to_company", table),
  before: (table: string) => linkScript("bench_before.link_contacts_to_company", table),
  least: (table: string) => leastSqlScript(table),
};
type LoadName = keyof typeof LOADS;

export type OneAndSpread = Record<Mode, LoadResult>;

export interface HotOrg {
  orgs: number;
  contactsPerOrg: number;
  /** By batch size: the link function now and before, and the least SQL. */
  bySize: Record<number, Record<LoadName, OneAndSpread>>;
}

/** One org's throughput over the spread load's. */
export const oneOverSpread = (r: OneAndSpread) => r.one.perSecond / r.spread.perSecond;

export async function measureHotOrg(size: Size, say: Progress): Promise<HotOrg> {
  const db = await startBenchDb(DURABLE_SETTINGS);
  try {
    const sql = db.control();
    const shape = {
      orgs: size.hotOrgs,
      contactsPerOrg: size.hotContactsPerOrg,
      companiesPerOrg: size.companiesPerOrg,
      batchSizes: size.hotBatchSizes,
      batchesPerSize: size.batchesPerSize,
    };
    say(`hot org: loading ${shape.orgs} orgs × ${shape.contactsPerOrg} contacts (fsync on)`);
    await loadDataset(sql, shape);
    await sql.unsafe(drawBatches(TABLES.one, shape, HOT_ORG));
    await sql.unsafe(`analyze ${TABLES.one}`);
    await sql.unsafe(await Deno.readTextFile(new URL("sql/hot_org_before.sql", import.meta.url)));

    const bySize: HotOrg["bySize"] = {};
    for (const batch of size.hotBatchSizes) {
      const runs = new Map<string, PgbenchRun[]>();
      // Every load of a batch size in each round, so that the shared machine's changing
      // background load falls on all of them alike.
      for (let round = 0; round < size.hotRounds; round++) {
        for (const [name, script] of Object.entries(LOADS)) {
          for (const [mode, table] of Object.entries(TABLES)) {
            await sql.unsafe("vacuum bench_before.api_usage");
            await betweenRuns(sql);
            say(`hot org, batch ${batch}: ${name}, ${mode === "one" ? "one org" : "spread"}`);
            const run = await runPgbench(db, {
              script: script(table),
              vars: { size: batch, batches: size.batchesPerSize },
              database: "postgres",
              clients: size.clients,
              warmupSeconds: Math.min(size.warmupSeconds, 1),
              seconds: size.hotSeconds,
              transactions: size.pgbenchTransactions,
            });
            runs.set(`${name}:${mode}`, [...runs.get(`${name}:${mode}`) ?? [], run]);
          }
        }
      }
      const merged = (name: LoadName): OneAndSpread => ({
        one: mergeRuns(runs.get(`${name}:one`)!),
        spread: mergeRuns(runs.get(`${name}:spread`)!),
      });
      bySize[batch] = { fn: merged("fn"), before: merged("before"), least: merged("least") };
    }
    return { orgs: shape.orgs, contactsPerOrg: shape.contactsPerOrg, bySize };
  } finally {
    await db.destroy();
  }
}
