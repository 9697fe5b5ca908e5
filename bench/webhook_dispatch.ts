/** The dispatcher's throughput beside a stalled receiver: the pool of webhooks/dispatch.ts, in
 * process, on the bench's Postgres (as service_role), delivering one org's backlog (10 endpoints
 * at a loopback receiver that answers at once) with no other endpoint due, against the same
 * backlog while another org's endpoint, due too, never answers (its sends wait out the production
 * timeout, 10 s, holding their slots). Throughput is the backlog over the time until the last of
 * it arrived. The two alternate in rounds; before each, the outbox is emptied. */
import { benchKeyring } from "./gateway.ts";
import { createSqlDb, postgresJsQuery } from "../local/sql_db.ts";
import { connectPostgres } from "../local/postgres.ts";
import { dispatchUntilIdle } from "../supabase/functions/api-gateway/webhooks/dispatch.ts";
import { newWebhookSecret } from "../supabase/functions/api-gateway/webhooks/secret.ts";
import type { BenchDb } from "./database.ts";
import type { Progress } from "./measure.ts";
import type { Size } from "./sizes.ts";

export interface DispatchThroughput {
  deliveries: number;
  rounds: number;
  /** Deliveries a second, the best round of each. */
  noneStalled: number;
  oneStalled: number;
}

const ENDPOINTS = 10;
const ORG = "bench dispatch org";
const STALLED_ORG = "bench dispatch stalled org";

export async function measureDispatchThroughput(
  db: BenchDb,
  size: Size,
  say: Progress,
): Promise<DispatchThroughput> {
  const sql = db.control();
  const deliveries = size.dispatchDeliveries;
  let arrived = 0;
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.arrayBuffer();
    arrived++;
    return new Response(null, { status: 204 });
  });
  const hanging = new Set<() => void>();
  let stalling = true;
  const stalled = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () =>
      stalling
        ? new Promise<Response>((resolve) => hanging.add(() => resolve(new Response(null))))
        : new Response(null),
  );
  const pool = connectPostgres(db.url(), { max: 10 });
  const gatewayDb = createSqlDb(postgresJsQuery(pool));
  const secret = await benchKeyring.encrypt(newWebhookSecret());
  const [{ id: org }] = await sql<{ id: string }[]>`
    insert into public.orgs (name) values (${ORG}) returning id`;
  const [{ id: stalledOrg }] = await sql<{ id: string }[]>`
    insert into public.orgs (name) values (${STALLED_ORG}) returning id`;
  const endpoints = await sql<{ id: string }[]>`
    insert into public.webhook_endpoints (org_id, url, events, secret)
    select ${org}, ${`http://127.0.0.1:${receiver.addr.port}/`} || g, '{company.contacts_linked}',
           ${secret}
    from generate_series(1, ${ENDPOINTS}) g returning id`;
  const [{ id: stalledEndpoint }] = await sql<{ id: string }[]>`
    insert into public.webhook_endpoints (org_id, url, events, secret)
    values (${stalledOrg}, ${`http://127.0.0.1:${stalled.addr.port}/`},
            '{company.contacts_linked}', ${secret}) returning id`;
  const enqueue = async (orgId: string, ids: string[], n: number) => {
    await sql.unsafe(
      `with ev as (
         insert into public.webhook_events (org_id, type, body)
         select $1, 'company.contacts_linked', '{"type": "company.contacts_linked"}'
         from generate_series(1, $3::int) returning id),
       numbered as (select id, row_number() over () - 1 as n from ev)
       insert into public.webhook_deliveries (org_id, event_id, endpoint_id, next_attempt_at)
       select $1, id, ($2::uuid[])[1 + n % cardinality($2::uuid[])], now() - interval '1 second'
       from numbered`,
      [orgId, ids, n],
    );
  };
  const best = { none: 0, one: 0 };
  const rounds = Math.max(1, size.rounds);
  try {
    for (let round = 0; round < rounds; round++) {
      for (const mode of ["none", "one"] as const) {
        await sql`delete from public.webhook_deliveries where org_id in (${org}, ${stalledOrg})`;
        await sql`delete from public.webhook_events where org_id in (${org}, ${stalledOrg})`;
        await enqueue(org, endpoints.map((e) => e.id), deliveries);
        // As many as the endpoint may have in flight: all of them stall.
        if (mode === "one") await enqueue(stalledOrg, [stalledEndpoint], 5);
        say(
          `webhook dispatch: ${deliveries} deliveries to ${ENDPOINTS} endpoints, ` +
            `${mode === "none" ? "no" : "one"} stalled endpoint`,
        );
        arrived = 0;
        stalling = true;
        const started = performance.now();
        const all = dispatchUntilIdle(
          {
            db: gatewayDb,
            urlPolicy: { allowLocalHttp: true, resolve: null },
            secretKeyring: () => Promise.resolve(benchKeyring),
          },
          60_000,
        );
        while (arrived < deliveries) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (performance.now() - started > 120_000) throw new Error("the backlog never arrived");
        }
        const done = performance.now() - started;
        // The stalled receiver answers now: the sends it held end, and the pool with them.
        stalling = false;
        for (const answer of hanging) answer();
        hanging.clear();
        await all;
        const perSecond = deliveries / (done / 1000);
        best[mode] = Math.max(best[mode], perSecond);
      }
    }
  } finally {
    stalling = false;
    for (const answer of hanging) answer();
    await pool.end();
    await sql`delete from public.orgs where id in (${org}, ${stalledOrg})`;
    await sql`delete from public.webhook_events where org_id in (${org}, ${stalledOrg})`;
    await receiver.shutdown();
    await stalled.shutdown();
  }
  return { deliveries, rounds, noneStalled: best.none, oneStalled: best.one };
}

// `deno run -A bench/webhook_dispatch.ts [--quick]`: this figure alone, on a throwaway Postgres.
if (import.meta.main) {
  const { startBenchDb } = await import("./database.ts");
  const { DEFAULT, QUICK } = await import("./sizes.ts");
  const size = Deno.args.includes("--quick") ? QUICK : DEFAULT;
  const db = await startBenchDb();
  try {
    const d = await measureDispatchThroughput(db, size, (m) => console.error(`[bench] ${m}`));
    console.log(
      `one stalled ${d.oneStalled.toFixed(0)}/s vs none ${d.noneStalled.toFixed(0)}/s: ` +
        `ratio ${(d.oneStalled / d.noneStalled).toFixed(2)} (target >= 0.8)`,
    );
  } finally {
    await db.destroy();
  }
}
