/** Every load run of the bench, in order, on one database: the floor (the link function, and the
 * least SQL beside it), the naive client, the gateway over HTTP, and the floor on the small data
 * set. Each run starts after a vacuum, with the same clients and durations. */
import { batches, betweenRuns, loadDataset } from "./dataset.ts";
import { type BenchDb, SMALL_DB } from "./database.ts";
import { LINK_PATH, startGateway } from "./gateway.ts";
import { runGatewayLoad } from "./http_load.ts";
import type { LoadResult } from "./load.ts";
import { memoryMb } from "./proc.ts";
import { runPgbench } from "./pgbench.ts";
import { FUNCTION_SCRIPT, LEAST_SQL_SCRIPT, NAIVE_SCRIPT } from "./scripts.ts";
import type { Size } from "./sizes.ts";

export interface Measurements {
  /** By batch size. */
  floor: Record<number, LoadResult>;
  leastSql: Record<number, LoadResult>;
  gateway: Record<number, LoadResult>;
  naive: LoadResult;
  /** The floor at the biggest batch size on the small data set. */
  smallFloor: LoadResult;
  /** Peak resident memory of the gateway's server process over its runs, MB. */
  gatewayPeakRssMb: number;
}

export type Progress = (message: string) => void;

export async function measureLoads(db: BenchDb, size: Size, say: Progress): Promise<Measurements> {
  const main = db.control();
  const shape = { ...size, orgs: size.orgs, contactsPerOrg: size.contactsPerOrg };
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
  const pgbench = async (
    name: string,
    script: string,
    vars: Record<string, number>,
    database = "postgres",
  ) => {
    await betweenRuns(db.control(database));
    say(name);
    return await runPgbench(db, {
      script,
      vars,
      database,
      ...load,
      transactions: size.pgbenchTransactions,
    });
  };

  const floor: Record<number, LoadResult> = {};
  const leastSql: Record<number, LoadResult> = {};
  for (const batch of size.batchSizes) {
    const vars = { size: batch, batches: size.batchesPerSize };
    floor[batch] = await pgbench(`floor: link function, batch ${batch}`, FUNCTION_SCRIPT, vars);
    leastSql[batch] = await pgbench(`floor: least SQL, batch ${batch}`, LEAST_SQL_SCRIPT, vars);
  }
  const naive = await pgbench("naive: one UPDATE per contact", NAIVE_SCRIPT, {
    orgs: size.orgs,
    contacts: size.contactsPerOrg,
    companies: size.companiesPerOrg,
  });
  const smallFloor = await pgbench(
    `floor on ${size.smallOrgs * size.smallContactsPerOrg} contacts, batch ${biggest}`,
    FUNCTION_SCRIPT,
    { size: biggest, batches: size.batchesPerSize },
    SMALL_DB,
  );

  say("starting deno task dev on the bench database");
  const gw = await startGateway(db.url());
  const gateway: Record<number, LoadResult> = {};
  let gatewayPeakRssMb = 0;
  try {
    for (const batch of size.batchSizes) {
      const requests = (await batches(main, batch, 2_000)).map((b) => ({
        path: LINK_PATH(b.company_id),
        key: b.key,
        body: JSON.stringify({ contact_ids: b.contact_ids }),
      }));
      await betweenRuns(main);
      say(`gateway over HTTP (wrk), batch ${batch}`);
      gateway[batch] = await runGatewayLoad(db, gw, requests, load);
    }
    gatewayPeakRssMb = memoryMb(gw.serverPid(), "VmHWM");
  } finally {
    await gw.stop();
  }
  return { floor, leastSql, gateway, naive, smallFloor, gatewayPeakRssMb };
}
