// POST /v1/api-keys/{id}/rotate: its declaration for the shared suites, and its own HTTP
// contract: the successor (shown once) keeps name, description, permissions and expiry; the old
// key's grace on the test clock; dead keys refused; no escalation through rotation; the limit.
import assert from "node:assert/strict";
import { rotateApiKey } from "../../supabase/functions/api-gateway/routes/rotate_api_key.ts";
import { generateApiKey, hashApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";
import { assertNoSecrets, manualClock } from "../harness/app.ts";
import {
  assertNewKey,
  checkMintedKey,
  liveKeys,
  restoreTenantKeys,
  storedByPlaintext,
  storedKey,
} from "../harness/api_keys.ts";
import { createTenant, databaseDigest } from "../harness/fixtures.ts";
import { routePath, send } from "../harness/http.ts";
import { defineRouteTest } from "../harness/route_tests.ts";

const ADMIN = "admin:api_keys";

export default defineRouteTest({
  endpoint: rotateApiKey,
  // The key holding only admin:api_keys, which every key that may call the route holds: an hour
  // of grace keeps it working for the suites' next requests.
  valid: (self) => ({
    params: { id: self.keyIds[self.keys.only[ADMIN]] },
    body: { grace_seconds: 3600 },
  }),
  invalid: (self) => ({
    params: { id: self.keyIds[self.keys.only[ADMIN]] },
    body: { grace_seconds: -1 },
  }),
  ok: (json) => {
    const data = (json as { data: Record<string, unknown> }).data;
    assertNewKey(data);
    assert.deepEqual(data.permissions, [ADMIN]);
  },
  sqlData: {
    key: {
      id: "0c000000-0000-4000-8000-000000000008",
      key: generateApiKey(),
      prefix: "wbk_00000000",
      name: "key",
      description: null,
      permissions: [ADMIN],
      expires_at: null,
      created_at: "2030-01-01T00:00:00.000000Z",
    },
    previous: {},
  },
  writes: true,
  crossOrg: (_self, other) => [{
    name: "another org's key",
    params: { id: other.keyIds[other.keys.only[ADMIN]] },
    body: { grace_seconds: 60 },
    status: 404,
    code: "api_key_not_found",
  }],
  property: {
    check200: checkMintedKey,
    restore: restoreTenantKeys,
  },

  async contract(t, { target, build }) {
    const clock = manualClock("2035-03-04T05:06:07Z");
    const { app, logs } = build({ clock: clock.now });
    const a = await createTenant(target.owner);
    const shown: string[] = [];
    const rotate = async (id: string, body: unknown = {}, key = a.keys.all) => {
      const res = await send(app, "POST", routePath(rotateApiKey, { id }), { body, key });
      if (res.status === 201) shown.push(res.json.data.key);
      return res;
    };
    const works = async (key: string) =>
      (await send(app, "GET", "/api-gateway/v1/webhooks", { key })).status;

    await t.step(
      "no body at all: the default grace of a day; a JSON body must still parse",
      async () => {
        const old = a.keys.without["contacts:read"];
        const res = await send(app, "POST", routePath(rotateApiKey, { id: a.keyIds[old] }), {
          key: a.keys.all,
        });
        assert.equal(res.status, 201, res.text);
        shown.push(res.json.data.key);
        const at = new Date(clock.now().getTime() + 86_400_000).toISOString().replace(
          /\.\d{3}Z$/,
          ".000000Z",
        );
        assert.equal((await storedKey(target.owner, a.keyIds[old]))?.expires_at, at);
        const empty = await send(app, "POST", routePath(rotateApiKey, { id: a.keyIds[old] }), {
          key: a.keys.all,
          body: "",
        });
        assert.equal(empty.status, 400, "declared JSON, and not JSON");
        const other = await send(app, "POST", routePath(rotateApiKey, { id: a.keyIds[old] }), {
          key: a.keys.all,
          headers: { "content-type": "text/plain" },
          body: "grace",
        });
        assert.equal(other.status, 415, other.text);
      },
    );

    await t.step(
      "201: a successor with the old key's name, description, permissions, expiry",
      async () => {
        const old = a.keys.only["webhooks:read"];
        await target.owner(
          "update public.api_keys set name = 'crm', description = 'the CRM', expires_at = $2 where id = $1",
          [a.keyIds[old], "2036-01-01T00:00:00Z"],
        );
        const res = await rotate(a.keyIds[old], { grace_seconds: 600 });
        assert.equal(res.status, 201, res.text);
        const { id, key } = assertNewKey(res.json.data);
        assert.notEqual(id, a.keyIds[old]);
        assert.notEqual(key, old);
        assert.equal(res.json.data.name, "crm");
        assert.equal(res.json.data.description, "the CRM");
        assert.deepEqual(res.json.data.permissions, ["webhooks:read"]);
        assert.equal(res.json.data.expires_at, "2036-01-01T00:00:00.000000Z");
        assert.equal(res.json.data.created_at, "2035-03-04T05:06:07.000000Z");
        const row = await storedByPlaintext(target.owner, key);
        assert.equal(row.org_id, a.orgId);
        assert.equal(await works(key), 200, "the successor works at once");

        // The grace, on the test clock: the old key works for 600 s, then is refused.
        assert.equal(
          (await storedKey(target.owner, a.keyIds[old]))?.expires_at,
          "2035-03-04T05:16:07.000000Z",
        );
        clock.advance(599_000);
        assert.equal(await works(old), 200, "the old key, 1 s before its grace ends");
        clock.advance(1_000);
        assert.equal(await works(old), 401, "the old key, when its grace ends");
        assert.equal(await works(key), 200);
      },
    );

    await t.step("the default grace is a day; never past the key's own expiry", async () => {
      const old = a.keys.only["contacts:read"];
      const res = await rotate(a.keyIds[old]);
      assert.equal(res.status, 201, res.text);
      const day = new Date(clock.now().getTime() + 86_400_000).toISOString().replace("Z", "000Z");
      assert.equal((await storedKey(target.owner, a.keyIds[old]))?.expires_at, day);
      const short = a.keys.only["contacts:write"];
      const soon = new Date(clock.now().getTime() + 100_000).toISOString();
      await target.owner("update public.api_keys set expires_at = $2 where id = $1", [
        a.keyIds[short],
        soon,
      ]);
      const capped = await rotate(a.keyIds[short], { grace_seconds: 3600 });
      assert.equal(capped.status, 201, capped.text);
      const stored = await storedKey(target.owner, a.keyIds[short]);
      assert.equal(stored?.expires_at, soon.replace("Z", "000Z"), "not extended");
      assert.equal(capped.json.data.expires_at, soon.replace("Z", "000Z"), "nor the successor");
    });

    await t.step("grace 0: the old key is refused from the next request", async () => {
      const old = a.keys.only["webhooks:write"];
      const res = await rotate(a.keyIds[old], { grace_seconds: 0 });
      assert.equal(res.status, 201, res.text);
      assert.equal(
        (await send(app, "POST", `/api-gateway/v1/webhooks/${a.webhookIds[0]}/rotate-secret`, {
          key: old,
        })).status,
        401,
      );
    });

    await t.step(
      "409 api_key_not_active for a revoked or expired key, nothing written",
      async () => {
        for (const dead of [a.keys.revoked, a.keys.expired]) {
          const before = await databaseDigest(target.owner);
          const res = await rotate(a.keyIds[dead]);
          assert.equal(res.status, 409, res.text);
          assert.equal(res.json.error.code, "api_key_not_active");
          assert.equal(await databaseDigest(target.owner), before);
        }
      },
    );

    await t.step("no escalation: a key rotates only keys whose permissions it holds", async () => {
      const before = await databaseDigest(target.owner);
      const res = await rotate(a.keyIds[a.keys.all], {}, a.keys.only[ADMIN]);
      assert.equal(res.status, 403, res.text);
      assert.equal(res.json.error.code, "insufficient_permissions");
      assert.match(
        res.json.error.message,
        /contacts:read, contacts:write, webhooks:read, webhooks:write\.$/,
      );
      assert.equal(await databaseDigest(target.owner), before);
      const own = await rotate(
        a.keyIds[a.keys.only["contacts:read"]],
        {},
        a.keys.without["webhooks:read"],
      );
      assert.equal(own.status, 201, "a key holding the permissions may");
    });

    for (
      const [name, body] of [
        ["grace_seconds -1", { grace_seconds: -1 }],
        ["grace_seconds over a week", { grace_seconds: 604_801 }],
        ["grace_seconds not whole", { grace_seconds: 1.5 }],
        ["grace_seconds a string", { grace_seconds: "60" }],
        ["an unknown field", { grace: 60 }],
      ] as const
    ) {
      await t.step(`400 validation_error: ${name}`, async () => {
        const before = await databaseDigest(target.owner);
        const res = await rotate(a.keyIds[a.keys.only[ADMIN]], body);
        assert.equal(res.status, 400, res.text);
        assert.equal(res.json.error.code, "validation_error");
        assert.equal(await databaseDigest(target.owner), before);
      });
    }

    await t.step("404 for an id that never was", async () => {
      const res = await rotate("00000000-0000-4000-8000-00000000beef");
      assert.equal(res.status, 404);
      assert.equal(res.json.error.code, "api_key_not_found");
    });

    await t.step("no successor's key or hash in any log line", async () => {
      assert.ok(shown.length >= 4);
      assertNoSecrets(logs, [...shown, ...await Promise.all(shown.map(hashApiKey))]);
    });

    await t.step(
      "at the limit a key can be rotated (its successor takes its place), once",
      async () => {
        const org = await createTenant(target.owner, { maxApiKeys: 11 });
        const real = build().app;
        assert.equal(await liveKeys(target.owner, org.orgId), 11);
        const once = await send(
          real,
          "POST",
          routePath(rotateApiKey, { id: org.keyIds[org.keys.only["contacts:read"]] }),
          {
            key: org.keys.all,
            body: {},
          },
        );
        assert.equal(once.status, 201, once.text);
        const twice = await send(
          real,
          "POST",
          routePath(rotateApiKey, { id: org.keyIds[org.keys.only["contacts:write"]] }),
          {
            key: org.keys.all,
            body: {},
          },
        );
        assert.equal(twice.status, 409, twice.text);
        assert.equal(twice.json.error.code, "too_many_api_keys");
      },
    );
  },
});
