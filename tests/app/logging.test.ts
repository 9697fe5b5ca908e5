// One JSON log line per request: request id, method, route pattern, status, duration, and the org
// and key prefix once the database has resolved the key; never the key, the body, the raw path or
// a stack trace for a 4xx.
import assert from "node:assert/strict";
import { API_KEY_PREFIX_LENGTH, hashApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";
import { ENDPOINTS } from "../../supabase/functions/api-gateway/routes/index.ts";
import { assertNoSecrets, buildApp } from "../harness/app.ts";
import { allKeys, createTenant } from "../harness/fixtures.ts";
import { routePath, send } from "../harness/http.ts";
import { getTarget, targetTestOptions } from "../harness/targets.ts";
import { generateApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";

const LINK = ENDPOINTS.find((e) => e.sql.fn === "link_contacts_to_company")!;
const LINK_PATTERN = "/api-gateway/v1/companies/:id/contacts/link";

Deno.test(
  { name: "logging: one JSON line per request", ...targetTestOptions("pglite") },
  async (t) => {
    const target = await getTarget("pglite");
    const { app, logs } = buildApp(target.db);
    const a = await createTenant(target.owner, { contacts: 3 });
    const path = routePath(LINK, { id: a.companyIds[0] });
    const body = { contact_ids: a.contactIds };

    const cases: {
      name: string;
      send: () => ReturnType<typeof send>;
      status: number;
      route: string | null;
      known: boolean;
    }[] = [
      {
        name: "200",
        send: () => send(app, "POST", path, { key: a.keys.write, body }),
        status: 200,
        route: LINK_PATTERN,
        known: true,
      },
      {
        name: "400 after the key was checked",
        send: () => send(app, "POST", path, { key: a.keys.write, body: { contact_ids: [] } }),
        status: 400,
        route: LINK_PATTERN,
        known: true,
      },
      {
        name: "403",
        send: () => send(app, "POST", path, { key: a.keys.read, body }),
        status: 403,
        route: LINK_PATTERN,
        known: true,
      },
      {
        name: "401, unknown key",
        send: () => send(app, "POST", path, { key: generateApiKey(), body }),
        status: 401,
        route: LINK_PATTERN,
        known: false,
      },
      {
        name: "401, no key",
        send: () => send(app, "POST", path, { body }),
        status: 401,
        route: LINK_PATTERN,
        known: false,
      },
      {
        name: "404 unknown route",
        send: () => send(app, "GET", `/api-gateway/v1/${a.companyIds[0]}`, { key: a.keys.write }),
        status: 404,
        route: null,
        known: false,
      },
      {
        name: "405",
        send: () => send(app, "DELETE", path, { key: a.keys.write }),
        status: 405,
        route: null,
        known: false,
      },
      {
        name: "the OpenAPI document",
        send: () => send(app, "GET", "/api-gateway/v1/openapi.json"),
        status: 200,
        route: "/api-gateway/v1/openapi.json",
        known: false,
      },
    ];

    for (const c of cases) {
      await t.step(c.name, async () => {
        logs.length = 0;
        const res = await c.send();
        assert.equal(res.status, c.status, res.text);
        assert.equal(logs.length, 1, "exactly one line");
        const line = JSON.parse(logs[0]);
        assert.deepEqual(Object.keys(line).sort(), [
          "duration_ms",
          "key_prefix",
          "level",
          "method",
          "msg",
          "org_id",
          "request_id",
          "route",
          "status",
        ]);
        assert.equal(line.level, "info");
        assert.equal(line.request_id, res.headers.get("x-request-id"));
        assert.equal(line.status, c.status);
        assert.equal(line.route, c.route);
        assert.equal(typeof line.duration_ms, "number");
        assert.ok(line.duration_ms >= 0);
        assert.equal(line.org_id, c.known ? a.orgId : null);
        assert.equal(line.key_prefix, c.known ? line.key_prefix : null);
        if (c.known) assert.equal(line.key_prefix.length, API_KEY_PREFIX_LENGTH);
        // Not the raw path (it carries ids), not the body, not a stack for a 4xx.
        assert.ok(!logs[0].includes(a.companyIds[0]), "the raw path is not logged");
        assert.ok(!a.contactIds.some((id) => logs[0].includes(id)), "the body is not logged");
      });
    }

    await t.step("the key prefix is the key's own", async () => {
      logs.length = 0;
      await send(app, "POST", path, { key: a.keys.write, body });
      assert.equal(JSON.parse(logs[0]).key_prefix, a.keys.write.slice(0, API_KEY_PREFIX_LENGTH));
    });

    await t.step("no key or key hash in any line", async () => {
      const secrets = allKeys(a);
      assertNoSecrets(logs, [...secrets, ...await Promise.all(secrets.map(hashApiKey))]);
    });
    await target.close();
  },
);
