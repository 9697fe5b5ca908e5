// One database call per request, counted by Postgres itself: committed transactions per valid
// request on every route, through the SQL adapter over postgres.js.
import assert from "node:assert/strict";
import postgres from "postgres";
import { connectPostgres } from "../../local/postgres.ts";
import { createSqlDb, postgresJsQuery } from "../../local/sql_db.ts";
import { buildApp } from "../harness/app.ts";
import { createTenant } from "../harness/fixtures.ts";
import { sendRoute } from "../harness/http.ts";
import { loadRouteTests } from "../harness/route_tests.ts";
import { getTarget, targetTestOptions } from "../harness/targets.ts";
import { waitForBackendsToExit, withAppName } from "./support.ts";

const ROUTES = await loadRouteTests();

/** The database's committed transactions after `n` valid requests on one route, on a fresh pool
 * whose backends have exited (so their statistics are flushed). */
async function commitsFor(
  url: string,
  n: number,
  run: (app: ReturnType<typeof buildApp>["app"]) => Promise<number>,
) {
  const appName = `calls-${crypto.randomUUID().slice(0, 8)}`;
  const sql = connectPostgres(withAppName(url, appName), { max: 1 });
  const { app } = buildApp(createSqlDb(postgresJsQuery(sql)));
  for (let i = 0; i < n; i++) assert.equal(await run(app), 200);
  await sql.end();
  await waitForBackendsToExit(url, appName);
  const reader = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await reader`select pg_stat_clear_snapshot()`;
    const [{ commits }] = await reader<{ commits: string }[]>`
      select xact_commit::text as commits from pg_stat_database where datname = current_database()`;
    return Number(commits);
  } finally {
    await reader.end();
  }
}

Deno.test(
  {
    name: "calls per request: one transaction per valid request",
    ...targetTestOptions("postgres"),
  },
  async (t) => {
    const target = await getTarget("postgres");
    const org = await createTenant(target.owner, { contacts: 10 });
    for (const route of ROUTES) {
      const { endpoint } = route;
      await t.step(`${endpoint.method.toUpperCase()} ${endpoint.path}`, async () => {
        const run = async (app: ReturnType<typeof buildApp>["app"]) =>
          (await sendRoute(app, endpoint, route.valid(org), { key: org.keys.all })).status;
        // A pool's own overhead (connecting, type lookup) is the same for 5 requests as for 45:
        // the difference is what the requests cost.
        const start = await commitsFor(target.url!, 0, run);
        const few = await commitsFor(target.url!, 5, run);
        const many = await commitsFor(target.url!, 45, run);
        const perRequest = ((many - few) - (few - start)) / 40;
        console.log(`  ${endpoint.sql.fn}: ${perRequest} committed transactions per request`);
        assert.equal(perRequest, 1);
      });
    }
    await target.close();
  },
);
