// What a client sees when the database fails, on every route: a generic 500 whose cause is in the
// request's one log line, or a prompt 503 when the database cannot be reached.
import assert from "node:assert/strict";
import { connectPostgres } from "../../local/postgres.ts";
import { createSqlDb, postgresJsQuery } from "../../local/sql_db.ts";
import { assertNoSecrets, buildApp } from "../harness/app.ts";
import { createTenant, databaseDigest } from "../harness/fixtures.ts";
import { sendRoute } from "../harness/http.ts";
import { freePort } from "../../local/net.ts";
import { loadRouteTests } from "../harness/route_tests.ts";
import { getTarget, targetTestOptions } from "../harness/targets.ts";

const ROUTES = await loadRouteTests();

Deno.test(
  { name: "failures: 500 and 503 on every route", ...targetTestOptions("pglite") },
  async (t) => {
    const target = await getTarget("pglite");
    const a = await createTenant(target.owner);
    const secretText = 'relation "secret_table" does not exist SELECT wbk_';

    for (const { endpoint, valid } of ROUTES) {
      const label = `${endpoint.method.toUpperCase()} ${endpoint.path}`;

      await t.step(
        `${label}: an unexpected failure is 500 internal_error, cause logged once`,
        async () => {
          const { app, logs } = buildApp({
            call: () => Promise.reject(Object.assign(new Error(secretText), { code: "42P01" })),
          });
          const before = await databaseDigest(target.owner);
          const res = await sendRoute(app, endpoint, valid(a), { key: a.keys.all });
          assert.equal(res.status, 500);
          assert.deepEqual(res.json, {
            error: {
              code: "internal_error",
              message: "An unexpected error occurred. Quote the request id.",
            },
          });
          assert.equal(logs.length, 1, "one line for the request");
          const line = JSON.parse(logs[0]);
          assert.equal(line.level, "error");
          assert.equal(line.status, 500);
          assert.equal(line.request_id, res.headers.get("x-request-id"));
          assert.equal(line.error.name, "Error");
          assert.equal(line.error.code, "42P01");
          assert.ok(line.error.frames.length > 0, "where it was thrown");
          assertNoSecrets([res.text, ...logs], ["secret_table", a.keys.all]);
          assert.equal(await databaseDigest(target.owner), before);
        },
      );

      await t.step(`${label}: an unreachable database is 503 with Retry-After`, async () => {
        // A real driver against a port nobody listens on: the genuine connection failure.
        const sql = connectPostgres(`postgresql://postgres@127.0.0.1:${freePort()}/postgres`);
        try {
          const { app, logs } = buildApp(createSqlDb(postgresJsQuery(sql)));
          const res = await sendRoute(app, endpoint, valid(a), { key: a.keys.all });
          assert.equal(res.status, 503, res.text);
          assert.equal(res.json.error.code, "service_unavailable");
          assert.ok(Number(res.headers.get("retry-after")) > 0);
          assert.doesNotMatch(res.text, /ECONNREFUSED|127\.0\.0\.1|postgres/i);
          assertNoSecrets(logs, [a.keys.all]);
        } finally {
          await sql.end({ timeout: 1 });
        }
      });
    }
    await target.close();
  },
);
