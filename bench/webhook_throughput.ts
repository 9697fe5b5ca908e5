/** What webhooks cost the link function: pgbench on the bench's main database, the link function
 * as the gateway calls it, with every org subscribed to company.contacts_linked by one active
 * endpoint (each link that changes a contact writes its event and a delivery in its transaction)
 * against no endpoint at all (one index probe finds none, nothing is written). The two alternate
 * in rounds, each after the outbox is emptied and a vacuum; nothing is delivered meanwhile (the
 * dispatcher is not running), so the figure is the outbox write alone.
 * Two workloads: the bench's batches as they are (a batch drawn again links contacts already
 * there, which changes nothing and writes no event), and the same batches each sent to a company
 * of its org drawn at random, so that nearly every link changes a contact and writes its event. */
import { newWebhookSecret } from "../supabase/functions/api-gateway/webhooks/secret.ts";
import { benchKeyring } from "./gateway.ts";
import { betweenRuns } from "./dataset.ts";
import type { BenchDb } from "./database.ts";
import type { LoadResult } from "./load.ts";
import type { Progress } from "./measure.ts";
import { mergeRuns, type PgbenchRun, runPgbench } from "./pgbench.ts";
import { FUNCTION_SCRIPT, linkToAnyCompanyScript } from "./scripts.ts";
import type { Size } from "./sizes.ts";

export type Workload = "batches" | "changing";

export interface WebhookThroughput {
  batch: number;
  workload: Workload;
  none: LoadResult;
  subscribed: LoadResult;
  /** Events written per link transaction in the subscribed runs (links that changed nothing
   * write none). */
  eventsPerLink: number;
}

export async function measureWebhookThroughput(
  db: BenchDb,
  size: Size,
  batch: number,
  workload: Workload,
  say: Progress,
): Promise<WebhookThroughput> {
  const sql = db.control();
  const secret = await benchKeyring.encrypt(newWebhookSecret());
  await sql.unsafe(
    `insert into public.webhook_endpoints (org_id, url, events, secret, active)
     select o.id, 'https://hooks.example.com/' || o.id, '{company.contacts_linked}', $1, false
     from public.orgs o where o.name like 'bench org %'`,
    [secret],
  );
  const runs: Record<"none" | "subscribed", PgbenchRun[]> = { none: [], subscribed: [] };
  let events = 0;
  const roundSeconds = Math.max(1, Math.round(size.seconds / size.rounds));
  try {
    for (let round = 0; round < size.rounds; round++) {
      for (const mode of ["none", "subscribed"] as const) {
        await sql.unsafe("truncate public.webhook_events, public.webhook_deliveries cascade");
        await sql.unsafe(
          `update public.webhook_endpoints set active = ${mode === "subscribed"}
           where url like 'https://hooks.example.com/%'`,
        );
        await sql.unsafe("vacuum (analyze) public.webhook_endpoints");
        await betweenRuns(sql);
        say(
          `webhooks (${workload}): link function, batch ${batch}, ` +
            `${mode === "none" ? "no" : "one"} endpoint`,
        );
        const run = await runPgbench(db, {
          script: workload === "batches" ? FUNCTION_SCRIPT : linkToAnyCompanyScript(size),
          vars: { size: batch, batches: size.batchesPerSize },
          database: "postgres",
          clients: size.clients,
          warmupSeconds: size.warmupSeconds,
          seconds: roundSeconds,
          transactions: size.pgbenchTransactions,
        });
        runs[mode].push(run);
        if (mode === "subscribed") {
          const [{ n }] = await sql<{ n: number }[]>`
            select count(*)::int as n from public.webhook_events`;
          events += n;
        }
      }
    }
  } finally {
    await sql.unsafe("truncate public.webhook_events, public.webhook_deliveries cascade");
    await sql.unsafe(
      "delete from public.webhook_endpoints where url like 'https://hooks.example.com/%'",
    );
  }
  const subscribed = mergeRuns(runs.subscribed);
  // Every transaction of the subscribed runs (warm-up included) could have written an event.
  const links = runs.subscribed.reduce((n, r) => n + r.transactions, 0);
  return {
    batch,
    workload,
    none: mergeRuns(runs.none),
    subscribed,
    eventsPerLink: links > 0 ? events / links : NaN,
  };
}
