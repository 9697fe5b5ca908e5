// The shared security suite: every endpoint (tests/routes/*.ts declares how to call it), every
// way of presenting a key, another org's ids, the rate limiter, and the one-call rule.
import assert from "node:assert/strict";
import { generateApiKey, hashApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";
import { assertNoSecrets, buildApp, manualClock } from "../harness/app.ts";
import {
  allKeys,
  createTenant,
  databaseDigest,
  meteringDigest,
  type Tenant,
  tokensTaken,
  usageOf,
} from "../harness/fixtures.ts";
import { type Answer, send, sendRoute } from "../harness/http.ts";
import { invalidRequest, loadRouteTests, successStatus } from "../harness/route_tests.ts";
import { getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";

const ROUTES = await loadRouteTests();

interface KeyCase {
  name: string;
  authorization: (self: Tenant, permission: string) => string | null;
  status: 401 | 403;
  code: string;
  /** The key's shape is wrong: refused before any database call. */
  syntax?: boolean;
}

/** `key` with one character of its random part changed: what a typo makes of a real key. */
const mistyped = (key: string) => key.slice(0, 10) + (key[10] === "a" ? "b" : "a") + key.slice(11);

const KEY_CASES: KeyCase[] = [
  { name: "no key", authorization: () => null, status: 401, code: "invalid_key", syntax: true },
  {
    name: "empty bearer",
    authorization: () => "Bearer ",
    status: 401,
    code: "invalid_key",
    syntax: true,
  },
  {
    name: "empty header",
    authorization: () => "",
    status: 401,
    code: "invalid_key",
    syntax: true,
  },
  {
    name: "another scheme",
    authorization: (s) => `Basic ${btoa(`x:${s.keys.all}`)}`,
    status: 401,
    code: "invalid_key",
    syntax: true,
  },
  {
    name: "key without scheme",
    authorization: (s) => s.keys.all,
    status: 401,
    code: "invalid_key",
    syntax: true,
  },
  {
    name: "malformed key",
    authorization: () => "Bearer wbk_not-a-key",
    status: 401,
    code: "invalid_key",
    syntax: true,
  },
  {
    name: "key with trailing junk",
    authorization: (s) => `Bearer ${s.keys.all} extra`,
    status: 401,
    code: "invalid_key",
    syntax: true,
  },
  {
    name: "a key whose checksum fails (a typo, or made up)",
    authorization: (s) => `Bearer ${mistyped(s.keys.all)}`,
    status: 401,
    code: "invalid_key",
    syntax: true,
  },
  {
    name: "made-up key with a valid checksum",
    authorization: () => `Bearer ${generateApiKey()}`,
    status: 401,
    code: "invalid_key",
  },
  {
    name: "revoked key",
    authorization: (s) => `Bearer ${s.keys.revoked}`,
    status: 401,
    code: "invalid_key",
  },
  {
    name: "expired key",
    authorization: (s) => `Bearer ${s.keys.expired}`,
    status: 401,
    code: "invalid_key",
  },
  {
    name: "key with every permission but the route's",
    authorization: (s, p) => `Bearer ${s.keys.without[p as keyof Tenant["keys"]["without"]]}`,
    status: 403,
    code: "insufficient_permissions",
  },
];

const RATE_HEADERS = ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"];

function assertRateHeaders(res: Answer, present: boolean) {
  for (const name of [...RATE_HEADERS, "ratelimit-policy", "ratelimit"]) {
    assert.equal(res.headers.has(name), present, `${name} ${present ? "missing" : "present"}`);
  }
}

for (const kind of TARGET_KINDS) {
  Deno.test(
    { name: `security: every route, every key case [${kind}]`, ...targetTestOptions(kind) },
    async (t) => {
      const target = await getTarget(kind);
      const { app, logs, calls } = buildApp(target.db);
      const self = await createTenant(target.owner);
      const other = await createTenant(target.owner);
      const bodies: string[] = [];
      const record = (res: Answer) => (bodies.push(res.text), res);

      await t.step("every authenticated route in the OpenAPI document is declared", async () => {
        const doc = (await send(app, "GET", "/api-gateway/v1/openapi.json")).json;
        const secured: string[] = [];
        for (const [path, ops] of Object.entries(doc.paths as Record<string, object>)) {
          for (const [method, op] of Object.entries(ops as Record<string, { security?: [] }>)) {
            // An operation without `security` would be public: none may exist unnoticed.
            const label = `${method.toUpperCase()} ${path}`;
            assert.ok(op.security?.length, `${label} declares no security`);
            secured.push(label);
            // The limiter's answer and state are part of every secured operation's contract.
            const responses = (op as { responses: Record<string, { headers?: object }> })
              .responses;
            const success = Object.keys(responses).find((s) => /^2\d\d$/.test(s))!;
            for (const status of [success, "400", "403", "404", "429"]) {
              const headers = Object.keys(responses[status]?.headers ?? {});
              for (
                const name of [
                  "X-RateLimit-Limit",
                  "X-RateLimit-Remaining",
                  "X-RateLimit-Reset",
                  "RateLimit-Policy",
                  "RateLimit",
                ]
              ) {
                assert.ok(headers.includes(name), `${label} ${status} lists ${name}`);
              }
            }
            assert.ok(
              Object.keys(responses["429"].headers ?? {}).includes("Retry-After"),
              `${label} 429 lists Retry-After`,
            );
          }
        }
        const declared = ROUTES.map((r) =>
          `${r.endpoint.method.toUpperCase()} /api-gateway${r.endpoint.path}`
        );
        assert.deepEqual(secured.sort(), declared.sort());
      });

      for (const route of ROUTES) {
        const { endpoint } = route;
        const label = `${endpoint.method.toUpperCase()} ${endpoint.path}`;
        const permission = endpoint.permission;

        const success = successStatus(endpoint);
        await t.step(
          `${label}: a key with exactly ${permission}: ${success}, one call`,
          async () => {
            calls.length = 0;
            const res = record(
              await sendRoute(app, endpoint, route.valid(self), {
                key: self.keys.only[permission],
              }),
            );
            assert.equal(res.status, success, res.text);
            route.ok(res.json, self);
            assertRateHeaders(res, true);
            assert.deepEqual(calls.map((c) => c.fn), [endpoint.sql.fn], "exactly one call");
          },
        );

        for (const c of KEY_CASES) {
          await t.step(`${label}: ${c.name} -> ${c.status} ${c.code}`, async () => {
            const before = await databaseDigest(target.owner);
            const metering = await meteringDigest(target.owner);
            calls.length = 0;
            const auth = c.authorization(self, permission);
            const res = record(
              await sendRoute(app, endpoint, route.valid(self), {
                headers: auth === null ? {} : { authorization: auth },
              }),
            );
            assert.equal(res.status, c.status, res.text);
            assert.equal(res.json.error.code, c.code);
            assert.equal(calls.length, c.syntax ? 0 : 1, "database calls");
            if (c.status === 401) {
              const challenge = res.headers.get("www-authenticate") ?? "";
              assert.match(challenge, /^Bearer realm="api-gateway"/);
              // RFC 6750: error="invalid_token" only when a bearer token was presented.
              const presented = /^Bearer \S/.test(auth ?? "");
              assert.equal(challenge.includes('error="invalid_token"'), presented, challenge);
              assertRateHeaders(res, false);
              assert.equal(await meteringDigest(target.owner), metering, "an invalid key counts");
            } else {
              assert.equal(res.headers.get("www-authenticate"), null);
              assert.ok(res.json.error.message.includes(permission), "403 names the scope");
              assertRateHeaders(res, true);
            }
            assert.equal(await databaseDigest(target.owner), before, "nothing may be written");
          });
        }

        await t.step(`${label}: invalid input still gets the key checked first`, async () => {
          const invalid = invalidRequest(route, self);
          const cases: [string, string | null, number, string][] = [
            ["unknown key", generateApiKey(), 401, "invalid_key"],
            ["wrong scope", self.keys.without[permission], 403, "insufficient_permissions"],
            ["right key", self.keys.only[permission], 400, "validation_error"],
          ];
          for (const [name, key, status, code] of cases) {
            calls.length = 0;
            const before = await tokensTaken(target.owner, self.orgId);
            const res = record(await sendRoute(app, endpoint, invalid, { key }));
            assert.equal(res.status, status, `${name}: ${res.text}`);
            assert.equal(res.json.error.code, code, name);
            assert.deepEqual(calls.map((c) => c.fn), ["api_authorize"], `${name}: one call`);
            assert.equal(calls[0].args.p_permission, permission);
            assertRateHeaders(res, status !== 401);
            const after = await tokensTaken(target.owner, self.orgId);
            assert.equal(after - before, status === 401 ? 0 : 1, `${name} counts`);
            if (status === 400) assert.ok(res.json.error.details.length > 0);
          }
        });

        for (const c of route.crossOrg(self, other)) {
          await t.step(`${label}: ${c.name} -> ${c.status}`, async () => {
            const before = await databaseDigest(target.owner);
            const res = record(
              await sendRoute(app, endpoint, c, { key: self.keys.only[permission] }),
            );
            assert.equal(res.status, c.status, res.text);
            if (c.code) assert.equal(res.json.error.code, c.code);
            c.check?.(res.json);
            assertRateHeaders(res, true);
            assert.equal(await databaseDigest(target.owner), before, "no org's rows may change");
          });
        }

        await t.step(`${label}: rate limited: 429, Retry-After, nothing done`, async () => {
          const clock = manualClock("2031-05-06T07:08:20Z");
          const limited = buildApp(target.db, { clock: clock.now });
          const org = await createTenant(target.owner, { perMinute: 2, perDay: 50 });
          const key = org.keys.only[permission];
          for (const left of [1, 0]) {
            const res = await sendRoute(limited.app, endpoint, route.valid(org), { key });
            assert.equal(res.status, success, res.text);
            assert.equal(res.headers.get("ratelimit"), `"minute";r=${left};t=40`);
          }
          const before = await databaseDigest(target.owner);
          const usage = await usageOf(target.owner, org.orgId, clock.now());
          const res = record(await sendRoute(limited.app, endpoint, route.valid(org), { key }));
          assert.equal(res.status, 429, res.text);
          assert.equal(res.json.error.code, "rate_limited");
          assert.match(res.json.error.message, /minute/);
          assert.equal(res.headers.get("retry-after"), "40");
          assert.equal(res.headers.get("ratelimit"), '"minute";r=0;t=40');
          assert.equal(res.headers.get("x-ratelimit-remaining"), "48");
          assert.equal(await databaseDigest(target.owner), before, "nothing done");
          assert.deepEqual(
            await usageOf(target.owner, org.orgId, clock.now()),
            usage,
            "a refused request takes no token",
          );
          clock.advance(40_000);
          const next = await sendRoute(limited.app, endpoint, route.valid(org), { key });
          assert.equal(next.status, success, "the next minute serves again");
        });
      }

      await t.step("no key or key hash in any response or log line", async () => {
        const secrets = allKeys(self, other);
        assertNoSecrets([...bodies, ...logs], [
          ...secrets,
          ...await Promise.all(secrets.map(hashApiKey)),
        ]);
      });
      await target.close();
    },
  );
}
