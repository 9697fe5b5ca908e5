import { startBenchDb } from "./database.ts";
import { loadDataset } from "./dataset.ts";
import { measureWebhookThroughput } from "./webhook_throughput.ts";
import { DEFAULT } from "./sizes.ts";
const db = await startBenchDb();
try {
  const size = {
    ...DEFAULT,
    orgs: 200,
    seconds: Number(Deno.args[0] ?? 10),
    rounds: Number(Deno.args[1] ?? 2),
  };
  await loadDataset(db.control(), {
    orgs: 200,
    contactsPerOrg: 1000,
    companiesPerOrg: 3,
    batchSizes: [10],
    batchesPerSize: 5000,
  });
  if (Deno.env.get("EXTRA_SQL")) {
    await db.control().unsafe(await Deno.readTextFile(Deno.env.get("EXTRA_SQL")!));
  }
  const r = await measureWebhookThroughput(db, size, 10, (m) => console.error(m));
  console.log(
    r.none.perSecond,
    r.subscribed.perSecond,
    r.subscribed.perSecond / r.none.perSecond,
    r.eventsPerLink,
    r.none.pgCpuMs,
    r.subscribed.pgCpuMs,
  );
} finally {
  await db.destroy();
}
