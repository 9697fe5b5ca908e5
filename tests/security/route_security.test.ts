import assert from "node:assert/strict";
import { hashApiKey } from "../../supabase/functions/api-gateway/lib/api_key.ts";
import { assertNoSecrets, buildApp } from "../harness/app.ts";
import { createTenant, databaseDigest, type Tenant } from "../harness/fixtures.ts";
import { getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";
import { ROUTE_CASES } from "./route_cases.ts";

/** Every way a caller can fail to be the key's rightful, permitted owner. */
const KEY_CASES: {
  name: string;
  authorization: (t: Tenant) => string | null;
  status: 401 | 403;
  code: string;
}[] = [
  { name: "no key", authorization: () => null, status: 401, code: "invalid_key" },
  { name: "empty bearer", authorization: () => "Bearer ", status: 401, code: "invalid_key" },
  { name: "empty header", authorization: () => "", status: 401, code: "invalid_key" },
  {
    name: "another scheme",
    authorization: (t) => `Basic ${btoa(`${t.keys.write}:`)}`,
    status: 401,
    code: "invalid_key",
  },
  {
    name: "key without scheme",
    authorization: (t) => t.keys.write,
    status: 401,
    code: "invalid_key",
  },
  {
    name: "malformed key",
    authorization: (t) => `Bearer ${t.keys.write.slice(0, -1)}!`,
    status: 401,
    code: "invalid_key",
  },
  {
    name: "key with trailing junk",
    authorization: (t) => `Bearer ${t.keys.write} extra`,
    status: 401,
    code: "invalid_key",
  },
  {
    name: "unknown key",
    authorization: (t) => `Bearer wbk_${t.keys.write.slice(4).split("").reverse().join("")}`,
    status: 401,
    code: "invalid_key",
  },
  {
    name: "revoked key",
    authorization: (t) => `Bearer ${t.keys.revoked}`,
    status: 401,
    code: "invalid_key",
  },
  {
    name: "expired key",
    authorization: (t) => `Bearer ${t.keys.expired}`,
    status: 401,
    code: "invalid_key",
  },
  {
    name: "key without the route's scope",
    authorization: (t) => `Bearer ${t.keys.readOnly}`,
    status: 403,
    code: "insufficient_permissions",
  },
];

for (const kind of TARGET_KINDS) {
  Deno.test(
    { name: `security: every route, every key case [${kind}]`, ...targetTestOptions(kind) },
    async (t) => {
      const target = await getTarget(kind);
      const { app, logs, settle } = buildApp(target.db);
      const self = await createTenant(target.owner);
      const other = await createTenant(target.owner);
      const bodies: string[] = [];

      const send = async (path: string, method: string, body: unknown, auth: string | null) => {
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (auth !== null) headers.authorization = auth;
        const res = await app.request(path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        bodies.push(text);
        await settle();
        return { res, text, json: JSON.parse(text) };
      };

      await t.step(
        "every authenticated route in the OpenAPI document is in the suite",
        async () => {
          const doc = await (await app.request("/api-gateway/v1/openapi.json")).json();
          const secured: string[] = [];
          for (const [path, ops] of Object.entries(doc.paths as Record<string, object>)) {
            for (const [method, op] of Object.entries(ops as Record<string, { security?: [] }>)) {
              // An operation without `security` would be public: none may exist unnoticed.
              assert.ok(
                op.security?.length,
                `${method.toUpperCase()} ${path} declares no security`,
              );
              secured.push(`${method.toUpperCase()} ${path}`);
            }
          }
          const covered = ROUTE_CASES.map((r) => `${r.method} ${r.openapiPath}`);
          assert.deepEqual(secured.sort(), covered.sort());
        },
      );

      for (const route of ROUTE_CASES) {
        const label = `${route.method} ${route.openapiPath}`;

        await t.step(`${label}: a valid request with the right key succeeds`, async () => {
          const { path, body } = route.valid(self);
          const { res } = await send(path, route.method, body, `Bearer ${self.keys.write}`);
          assert.equal(res.status, 200);
        });

        for (const c of KEY_CASES) {
          await t.step(`${label}: ${c.name} -> ${c.status} ${c.code}`, async () => {
            const before = await databaseDigest(target.owner);
            const { path, body } = route.valid(self);
            const { res, json } = await send(path, route.method, body, c.authorization(self));
            assert.equal(res.status, c.status);
            assert.equal(json.error.code, c.code);
            if (c.status === 401) {
              const challenge = res.headers.get("www-authenticate") ?? "";
              assert.match(challenge, /^Bearer realm="api-gateway"/);
              // RFC 6750: error="invalid_token" only when a bearer token was presented.
              const presented = /^Bearer \S/.test(c.authorization(self) ?? "");
              assert.equal(challenge.includes('error="invalid_token"'), presented, challenge);
            } else {
              assert.equal(res.headers.get("www-authenticate"), null);
              assert.ok(json.error.message.includes(route.scope), "403 names the missing scope");
            }
            assert.equal(await databaseDigest(target.owner), before, "nothing may be written");
          });
        }

        for (const c of route.crossOrg(self, other)) {
          await t.step(`${label}: ${c.name} -> ${c.status}`, async () => {
            const before = await databaseDigest(target.owner);
            const { res, json } = await send(
              c.path,
              route.method,
              c.body,
              `Bearer ${self.keys.write}`,
            );
            assert.equal(res.status, c.status);
            if (c.code) assert.equal(json.error.code, c.code);
            if (c.status === 200) {
              // Another org's ids look exactly like missing ones, and stay untouched.
              assert.equal(json.data.updated, 0);
              assert.equal(json.data.failed, new Set(other.contactIds).size);
            }
            assert.equal(await databaseDigest(target.owner), before, "no org's rows may change");
          });
        }
      }

      await t.step("no key or key hash in any response or log line", async () => {
        const secrets = [...Object.values(self.keys), ...Object.values(other.keys)];
        assertNoSecrets([...bodies, ...logs], [
          ...secrets,
          ...await Promise.all(secrets.map(hashApiKey)),
        ]);
      });
    },
  );
}
