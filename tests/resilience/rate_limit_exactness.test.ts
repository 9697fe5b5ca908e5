// Exact, not approximate: 3x a limit fired at once at real Postgres, through the gateway over a
// real socket, lets exactly the limit through, every run, with nothing else consumed.
import assert from "node:assert/strict";
import { connectPostgres } from "../../local/postgres.ts";
import { createSqlDb, postgresJsQuery } from "../../local/sql_db.ts";
import { ENDPOINTS } from "../../supabase/functions/api-gateway/routes/index.ts";
import { buildApp, manualClock } from "../harness/app.ts";
import { createTenant, databaseDigest, type Tenant, usageOf } from "../harness/fixtures.ts";
import { routePath } from "../harness/http.ts";
import { getTarget, targetTestOptions } from "../harness/targets.ts";
import { deadlocksAfterClosing, readDeadlocks, withAppName } from "./support.ts";

const RUNS = 5;
const LIMIT = 20;
const FIRED = 3 * LIMIT;
const POOL_MAX = 16;
// Mid-minute and mid-day, so no burst straddles a window boundary.
const NOW = "2031-03-04T05:06:30Z";

const LINK = ENDPOINTS.find((e) => e.sql.fn === "link_contacts_to_company")!;
const UNLINK = ENDPOINTS.find((e) => e.sql.fn === "unlink_contacts_from_company")!;
const LIST = ENDPOINTS.find((e) => e.sql.fn === "list_company_contacts")!;

/** Every route at once, with one key holding every permission: the quota is the org's. */
function burst(base: string, org: Tenant, n: number) {
  return Array.from({ length: n }, async (_, i) => {
    const kind = i % 3;
    const id = org.companyIds[i % org.companyIds.length];
    const endpoint = kind === 0 ? LINK : kind === 1 ? UNLINK : LIST;
    const res = await fetch(`${base}${routePath(endpoint, { id })}`, {
      method: endpoint.method.toUpperCase(),
      headers: { authorization: `Bearer ${org.keys.all}`, "content-type": "application/json" },
      body: endpoint.method === "post"
        ? JSON.stringify({ contact_ids: org.contactIds.slice(0, 3) })
        : undefined,
    });
    await res.body?.cancel();
    return res.status;
  });
}

Deno.test(
  { name: "resilience: rate limits are exact under concurrency", ...targetTestOptions("postgres") },
  async (t) => {
    const target = await getTarget("postgres");
    const appName = `exactness-${crypto.randomUUID().slice(0, 8)}`;
    const sql = connectPostgres(withAppName(target.url!, appName), { max: POOL_MAX });
    const clock = manualClock(NOW);
    const { app, logs } = buildApp(createSqlDb(postgresJsQuery(sql)), { clock: clock.now });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
    const base = `http://127.0.0.1:${server.addr.port}`;
    const deadlocksBefore = await readDeadlocks(target.url!);
    const report: string[] = [];

    try {
      for (
        const window of [
          { name: "minute", limits: { perMinute: LIMIT, perDay: 1_000_000 } },
          { name: "day", limits: { perMinute: 1_000_000, perDay: LIMIT } },
        ]
      ) {
        await t.step(
          `${window.name} window: ${FIRED} fired, exactly ${LIMIT} pass, x${RUNS}`,
          async () => {
            for (let run = 1; run <= RUNS; run++) {
              const org = await createTenant(target.owner, {
                companies: 3,
                contacts: 5,
                ...window.limits,
              });
              const statuses = await Promise.all(burst(base, org, FIRED));
              const passed = statuses.filter((s) => s === 200).length;
              const refused = statuses.filter((s) => s === 429).length;
              report.push(
                `${window.name} run ${run}: fired ${FIRED}, limit ${LIMIT}, passed ${passed}, ` +
                  `429 ${refused}`,
              );
              assert.equal(passed, LIMIT, `run ${run}: ${JSON.stringify(statuses)}`);
              assert.equal(refused, FIRED - LIMIT, `run ${run}: only 200 or 429`);
              // Refused requests took nothing: the counters hold exactly what passed, in both
              // windows, whichever window refused.
              assert.deepEqual(await usageOf(target.owner, org.orgId, clock.now()), {
                day: LIMIT,
                minute: LIMIT,
              });
            }
          },
        );
      }

      await t.step("the next minute serves again; a refused burst changed no data", async () => {
        const org = await createTenant(target.owner, { perMinute: LIMIT, perDay: 1_000_000 });
        await Promise.all(burst(base, org, LIMIT));
        const before = await databaseDigest(target.owner);
        const refused = await Promise.all(burst(base, org, LIMIT));
        assert.ok(refused.every((s) => s === 429));
        assert.equal(await databaseDigest(target.owner), before);
        clock.advance(60_000);
        const next = await Promise.all(burst(base, org, FIRED));
        assert.equal(next.filter((s) => s === 200).length, LIMIT);
        clock.set(NOW);
      });
    } finally {
      await server.shutdown();
    }
    const deadlocksAfter = await deadlocksAfterClosing(target.url!, appName, [sql]);
    console.log(`  ${report.join("\n  ")}\n  deadlocks delta ${deadlocksAfter - deadlocksBefore}`);
    assert.equal(deadlocksAfter - deadlocksBefore, 0, "no deadlock");
    assert.ok(!logs.some((l) => JSON.parse(l).level === "error"), "no error logged");
    await target.close();
  },
);
