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
  // Read from another database, so the reads count nowhere here; read until two reads agree:
  // exiting backends flush their counters a little after they go.
  const other = new URL(url);
  const database = other.pathname.slice(1);
  other.pathname = "/template1";
  const reader = postgres(other.toString(), { max: 1, onnotice: () => {} });
  try {
    let last = -1;
    for (;;) {
      await reader`select pg_stat_clear_snapshot()`;
      const [{ commits }] = await reader<{ commits: string }[]>`
        select xact_commit::text as commits from pg_stat_database where datname = ${database}`;
      if (Number(commits) === last) return last;
      last = Number(commits);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await reader.end();
  }
}

/** Waits until no backend is connected to the URL's database (but the one asking). */
async function waitForDatabaseIdle(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (;;) {
      const [{ n }] = await sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid()`;
      if (n === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await sql.end();
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
    // Autovacuum's ANALYZE commits transactions in this database too: keep it out of the count.
    for (
      const { name } of await target.owner<{ name: string }>(
        "select format('%I.%I', schemaname, relname) as name from pg_stat_user_tables",
        [],
      )
    ) {
      await target.owner(`alter table ${name} set (autovacuum_enabled = false)`, []);
    }
    // Nothing else may be connected while counting: an idle backend flushes its counters late.
    await target.close();
    await waitForDatabaseIdle(target.url!);
    const runOf =
      (route: typeof ROUTES[number]) => async (app: ReturnType<typeof buildApp>["app"]) =>
        (await sendRoute(app, route.endpoint, route.valid(org), { key: org.keys.all })).status;
    // A pool's own cost (connecting, looking types up) is the same however many requests it
    // serves: measured once, with 5 requests, and taken off runs of 45.
    const start = await commitsFor(target.url!, 0, runOf(ROUTES[0]));
    let last = await commitsFor(target.url!, 5, runOf(ROUTES[0]));
    const calibration = last - start;
    for (const route of ROUTES) {
      const { endpoint } = route;
      await t.step(`${endpoint.method.toUpperCase()} ${endpoint.path}`, async () => {
        const now = await commitsFor(target.url!, 45, runOf(route));
        const perRequest = ((now - last) - calibration) / 40;
        last = now;
        console.log(`  ${endpoint.sql.fn}: ${perRequest} committed transactions per request`);
        assert.equal(perRequest, 1);
      });
    }
  },
);
