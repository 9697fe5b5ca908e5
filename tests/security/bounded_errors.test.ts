// What one refused request can cost: a 400 stays small however much the request asks it to
// report (thousands of unknown fields or query parameters), on every route, and refusing takes
// no more work than serving a valid request of the same size.
import { requestSchemas } from "../../supabase/functions/api-gateway/kit/endpoint.ts";
import { z } from "zod";
import assert from "node:assert/strict";
import { MAX_DETAILS } from "../../supabase/functions/api-gateway/errors.ts";
import { MAX_BODY_BYTES } from "../../supabase/functions/api-gateway/limits.ts";
import { linkContactsToCompany } from "../../supabase/functions/api-gateway/routes/link_contacts_to_company.ts";
import { buildApp } from "../harness/app.ts";
import { createTenant } from "../harness/fixtures.ts";
import { type Answer, routePath, send } from "../harness/http.ts";
import { loadRouteTests } from "../harness/route_tests.ts";
import { getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";

const ROUTES = await loadRouteTests();
/** The issue's bound: every 4xx body, whatever the request. */
const MAX_ERROR_BYTES = 16 * 1024;

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** `n` distinct short names (1, 2, then 3 characters): shorter than any field a route declares. */
function names(n: number): string[] {
  const out: string[] = [];
  for (let len = 1; out.length < n; len++) {
    const total = ALPHABET.length ** len;
    for (let i = 0; i < total && out.length < n; i++) {
      let name = "";
      for (let j = 0, v = i; j < len; j++, v = Math.floor(v / ALPHABET.length)) {
        name += ALPHABET[v % ALPHABET.length];
      }
      out.push(name);
    }
  }
  return out;
}

/** A valid body with `n` unknown fields added, as compact JSON. */
function withUnknownFields(body: Record<string, unknown>, n: number): string {
  const extra = names(n).map((k) => `"${k}":0`).join(",");
  const valid = JSON.stringify(body);
  return `${valid.slice(0, -1)},${extra}}`;
}

/** `body` with every array field holding 100 malformed items and every other field of the wrong
 * type: an issue per item and per field, none of them an unknown field. */
function everyFieldWrong(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(body).map(([k, v]) => [
      k,
      Array.isArray(v)
        ? Array.from({ length: 100 }, (_, i) => `not-a-value-${i}`)
        : typeof v === "string"
        ? 0
        : "x",
    ]),
  );
}

function assertSmall400(res: Answer, what: string) {
  assert.equal(res.status, 400, `${what}: ${res.text.slice(0, 300)}`);
  assert.equal(res.json.error.code, "validation_error");
  const bytes = new TextEncoder().encode(res.text).length;
  assert.ok(bytes <= MAX_ERROR_BYTES, `${what}: a ${bytes}-byte 400`);
  assert.ok(res.json.error.details.length <= MAX_DETAILS, `${what}: details are capped`);
  for (const d of res.json.error.details) {
    assert.deepEqual(Object.keys(d).sort(), ["code", "in", "message", "path"]);
  }
  assert.match(res.json.error.message, /\(\d+ issues, the first 20 in details\)$/);
}

for (const kind of TARGET_KINDS) {
  Deno.test(
    { name: `security: bounded 400s on every route [${kind}]`, ...targetTestOptions(kind) },
    async (t) => {
      const target = await getTarget(kind);
      const { app, calls } = buildApp(target.db);
      const self = await createTenant(target.owner);
      /** Routes whose body gave more than MAX_DETAILS issues of their own fields. */
      const manyIssues: string[] = [];
      try {
        for (const route of ROUTES) {
          const { endpoint } = route;
          const label = `${endpoint.method.toUpperCase()} ${endpoint.path}`;
          const key = self.keys.only[endpoint.permission];
          const valid = route.valid(self);
          const request = requestSchemas(endpoint, z);

          if (request.body) {
            await t.step(`${label}: 8,000 unknown fields in a body under 64 KiB`, async () => {
              const body = withUnknownFields(valid.body as Record<string, unknown>, 8_000);
              assert.ok(body.length < MAX_BODY_BYTES, `the body is ${body.length} bytes`);
              calls.length = 0;
              const res = await send(app, endpoint.method, routePath(endpoint, valid.params), {
                key,
                body,
                headers: { "content-type": "application/json" },
              });
              assertSmall400(res, label);
              assert.match(res.json.error.message, /\(8000 issues/);
              assert.equal(res.json.error.details[0].message, "Unknown field");
              assert.equal(calls.length, 1, "one authorize-only call");
            });
          }

          if (request.body) {
            await t.step(`${label}: every field wrong, arrays of 100 malformed items`, async () => {
              const body = everyFieldWrong(valid.body as Record<string, unknown>);
              const res = await send(app, endpoint.method, routePath(endpoint, valid.params), {
                key,
                body,
              });
              assert.equal(res.status, 400, `${label}: ${res.text.slice(0, 300)}`);
              const bytes = new TextEncoder().encode(res.text).length;
              assert.ok(bytes <= MAX_ERROR_BYTES, `${label}: a ${bytes}-byte 400`);
              const issues = Number(res.json.error.message.match(/\((\d+) issues/)?.[1] ?? 1);
              console.log(`  ${label}: ${res.json.error.code}, ${issues} issues, ${bytes} bytes`);
              if (issues > MAX_DETAILS) {
                manyIssues.push(label);
                assertSmall400(res, label);
                assert.equal(res.json.error.details.length, MAX_DETAILS, "the first 20, no more");
                assert.ok(
                  res.json.error.details.every((d: { code: string }) =>
                    d.code !== "unrecognized_keys"
                  ),
                );
              }
            });
          }

          if (request.query) {
            await t.step(`${label}: 3,800 unknown query parameters`, async () => {
              const query = names(3_800).map((k) => `${k}=1`).join("&");
              const path = `${routePath(endpoint, valid.params, valid.query)}${
                valid.query && Object.keys(valid.query).length ? "&" : "?"
              }${query}`;
              const res = await send(app, endpoint.method, path, { key });
              assertSmall400(res, label);
              assert.match(res.json.error.message, /\(3800 issues/);
              assert.ok(res.json.error.details.every((d: { in: string }) => d.in === "query"));
            });
          }

          // A route with neither a body nor a query has no field to be unknown.
          if (request.body || request.query) {
            await t.step(`${label}: a long unknown field name is cut in the detail`, async () => {
              const long = "x".repeat(40_000);
              const res = request.body
                ? await send(app, endpoint.method, routePath(endpoint, valid.params), {
                  key,
                  body: { ...(valid.body as object), [long]: 1 },
                })
                : await send(
                  app,
                  endpoint.method,
                  `${routePath(endpoint, valid.params)}?${long}=1`,
                  { key },
                );
              assert.equal(res.status, 400, res.text.slice(0, 300));
              assert.ok(res.text.length < 2_000, `${res.text.length} bytes for one unknown field`);
            });
          }

          // Refusing must not cost more than serving: the time of a refused request against a
          // valid one of the same size, printed (never asserted: the machine is shared).
          if (request.body) {
            await t.step(`${label}: refusal cost against a valid request (printed)`, async () => {
              const refused = withUnknownFields(valid.body as Record<string, unknown>, 8_000);
              const compact = JSON.stringify(valid.body);
              const padded = `${compact.slice(0, -1)}${
                " ".repeat(refused.length - compact.length)
              }}`;
              assert.equal(padded.length, refused.length);
              const time = async (body: string) => {
                const started = performance.now();
                for (let i = 0; i < 5; i++) {
                  await send(app, endpoint.method, routePath(endpoint, valid.params), {
                    key,
                    body,
                    headers: { "content-type": "application/json" },
                  });
                }
                return performance.now() - started;
              };
              await time(padded);
              const ratio = await time(refused) / await time(padded);
              console.log(
                `  ${label}: refusing 8,000 unknown fields / serving: ${ratio.toFixed(2)}x`,
              );
            });
          }
        }
        // Not vacuous: the batch routes (100 malformed ids) are among them.
        assert.ok(
          manyIssues.includes(`POST ${linkContactsToCompany.path}`),
          `more than ${MAX_DETAILS} issues on: ${manyIssues.join(", ") || "no route"}`,
        );
      } finally {
        await target.close();
      }
    },
  );
}
