// DELETE /v1/api-keys/{id}: its declaration for the shared suites, and its own HTTP contract: a
// soft revoke, refused from the next request on by every app instance, idempotent, the org's
// last admin key kept (concurrent revocations included).
import assert from "node:assert/strict";
import { revokeApiKey } from "../../supabase/functions/api-gateway/routes/revoke_api_key.ts";
import { restoreTenantKeys, storedKey } from "../harness/api_keys.ts";
import { createTenant, databaseDigest, type Tenant } from "../harness/fixtures.ts";
import { routePath, send } from "../harness/http.ts";
import { defineRouteTest } from "../harness/route_tests.ts";
import type { Query } from "../../local/sql_db.ts";
import { pgClient } from "../../local/postgres.ts";
import { hashApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";

const ADMIN = "admin:api_keys";
const MISSING = "00000000-0000-4000-8000-00000000beef";

/** Leaves `keep` as the tenant's only live key with admin:api_keys (the others revoked). */
async function onlyAdmin(owner: Query, tenant: Tenant, keep: string[]) {
  const ids = keep.map((k) => tenant.keyIds[k]);
  await owner(
    `update public.api_keys set revoked_at = now() - interval '1 minute'
     where org_id = $1 and $2 = any (permissions) and id <> all($3::uuid[]) and revoked_at is null`,
    [tenant.orgId, ADMIN, ids],
  );
}

export default defineRouteTest({
  endpoint: revokeApiKey,
  // The fixture's revoked key: revoking it again answers 204 and changes nothing, however often
  // the suites send it.
  valid: (self) => ({ params: { id: self.keyIds[self.keys.revoked] } }),
  ok: (json) => assert.equal(json, undefined, "204: no body"),
  sqlData: null,
  writes: true,
  crossOrg: (_self, other) => [
    {
      name: "another org's live key",
      params: { id: other.keyIds[other.keys.all] },
      status: 404,
      code: "api_key_not_found",
    },
    {
      name: "another org's revoked key",
      params: { id: other.keyIds[other.keys.revoked] },
      status: 404,
      code: "api_key_not_found",
    },
  ],
  property: { restore: restoreTenantKeys },

  async contract(t, { target, build }) {
    const { app } = build();
    // Another app on the same database: another isolate, with its own memory.
    const other = build().app;
    const a = await createTenant(target.owner);
    const admin = a.keys.only[ADMIN];
    const revoke = (id: string, key = admin) =>
      send(app, "DELETE", routePath(revokeApiKey, { id }), { key });
    const listWith = (key: string, on = app) =>
      send(on, "GET", "/api-gateway/v1/api-keys", { key });

    await t.step("204; refused (401) on its very next request, by every instance", async () => {
      const victim = a.keys.without["contacts:read"];
      // Both instances have served it: nothing either remembers may let it through.
      assert.equal((await listWith(victim)).status, 200);
      assert.equal((await listWith(victim, other)).status, 200);
      const res = await revoke(a.keyIds[victim]);
      assert.equal(res.status, 204, res.text);
      assert.equal(res.text, "");
      for (const on of [app, other]) {
        const next = await listWith(victim, on);
        assert.equal(next.status, 401, next.text);
        assert.equal(next.json.error.code, "invalid_key");
      }
      const row = await storedKey(target.owner, a.keyIds[victim]);
      assert.ok(row?.revoked_at, "a soft delete: the row stays, revoked");
    });

    await t.step("again: 204, revoked_at unchanged", async () => {
      const id = a.keyIds[a.keys.without["contacts:read"]];
      const before = await storedKey(target.owner, id);
      const res = await revoke(id);
      assert.equal(res.status, 204);
      assert.deepEqual(await storedKey(target.owner, id), before);
    });

    await t.step("a key may revoke itself when another admin key remains", async () => {
      const self = a.keys.without["contacts:write"];
      const res = await revoke(a.keyIds[self], self);
      assert.equal(res.status, 204, res.text);
      assert.equal((await listWith(self)).status, 401);
    });

    await t.step("404 api_key_not_found for an id that never was; 400 for a non-UUID", async () => {
      const res = await revoke(MISSING);
      assert.equal(res.status, 404);
      assert.equal(res.json.error.code, "api_key_not_found");
      assert.match(res.json.error.message, new RegExp(MISSING));
      const bad = await revoke("not-a-uuid");
      assert.equal(bad.status, 400);
    });

    await t.step("the last live admin key: 403 saying so, nothing changed", async () => {
      const org = await createTenant(target.owner);
      const last = org.keys.only[ADMIN];
      await onlyAdmin(target.owner, org, [last]);
      const before = await databaseDigest(target.owner);
      const res = await send(app, "DELETE", routePath(revokeApiKey, { id: org.keyIds[last] }), {
        key: last,
      });
      assert.equal(res.status, 403, res.text);
      assert.equal(res.json.error.code, "insufficient_permissions");
      assert.match(res.json.error.message, /last active key with admin:api_keys/);
      assert.equal(await databaseDigest(target.owner), before);
      assert.equal((await listWith(last)).status, 200, "it still works");
      // An expired admin key is not a live one: it does not count as another admin key.
      await target.owner(
        "update public.api_keys set expires_at = now() - interval '1 s' where id = $1",
        [
          org.keyIds[org.keys.all],
        ],
      );
      const still = await send(app, "DELETE", routePath(revokeApiKey, { id: org.keyIds[last] }), {
        key: last,
      });
      assert.equal(still.status, 403);
      // A key without admin:api_keys goes, whatever remains.
      const plain = await send(
        app,
        "DELETE",
        routePath(revokeApiKey, { id: org.keyIds[org.keys.only["contacts:read"]] }),
        { key: last },
      );
      assert.equal(plain.status, 204, plain.text);
    });

    await t.step("two admin keys revoking each other at once: one admin key remains", async () => {
      const org = await createTenant(target.owner);
      const [k1, k2] = [org.keys.only[ADMIN], org.keys.all];
      await onlyAdmin(target.owner, org, [k1, k2]);
      const [r1, r2] = await Promise.all([
        send(app, "DELETE", routePath(revokeApiKey, { id: org.keyIds[k2] }), { key: k1 }),
        send(other, "DELETE", routePath(revokeApiKey, { id: org.keyIds[k1] }), { key: k2 }),
      ]);
      const statuses = [r1.status, r2.status].sort();
      assert.equal(statuses[0], 204, `${r1.text} ${r2.text}`);
      assert.ok([401, 403].includes(statuses[1]), `${r1.text} ${r2.text}`);
      const [{ n }] = await target.owner<{ n: number }>(
        `select count(*)::int as n from public.api_keys
         where org_id = $1 and $2 = any (permissions) and revoked_at is null`,
        [org.orgId, ADMIN],
      );
      assert.equal(n, 1);
    });

    await t.step({
      name: "a revocation that began before the other committed still sees it (Postgres)",
      // Two sessions: PGlite has one.
      ignore: target.url === undefined,
      fn: async () => {
        const org = await createTenant(target.owner);
        const [k1, k2] = [org.keys.only[ADMIN], org.keys.all];
        await onlyAdmin(target.owner, org, [k1, k2]);
        const late = pgClient(target.url!, { max: 1, onnotice: () => {} });
        try {
          // This session's transaction begins (its now() is fixed) before k1 revokes k2; its
          // revocation of k1 by k2 runs after that commit. Its transaction's time is earlier
          // than k2's revoked_at: judged by it, k2 would look live and k1 not the last admin key.
          const outcome = await late.begin(async (tx) => {
            await tx`select now()`;
            const first = await send(
              app,
              "DELETE",
              routePath(revokeApiKey, { id: org.keyIds[k2] }),
              {
                key: k1,
              },
            );
            assert.equal(first.status, 204, first.text);
            const [{ r }] = await tx`select public.revoke_api_key(
              ${await hashApiKey(k2)}, ${org.keyIds[k1]}::uuid) as r`;
            return (r as { outcome: string }).outcome;
          });
          assert.equal(outcome, "invalid_key", "k2 was revoked before this one ran");
        } finally {
          await late.end();
        }
        const [{ n }] = await target.owner<{ n: number }>(
          `select count(*)::int as n from public.api_keys
           where org_id = $1 and $2 = any (permissions) and revoked_at is null`,
          [org.orgId, ADMIN],
        );
        assert.equal(n, 1, "one admin key remains");
      },
    });

    await t.step("a rotated key in its grace is cut short by a revoke", async () => {
      const id = a.keyIds[a.keys.only["webhooks:read"]];
      const rotated = await send(app, "POST", `/api-gateway/v1/api-keys/${id}/rotate`, {
        key: a.keys.all,
        body: { grace_seconds: 3600 },
      });
      assert.equal(rotated.status, 201, rotated.text);
      const res = await revoke(id);
      assert.equal(res.status, 204);
      const hooks = await send(app, "GET", "/api-gateway/v1/webhooks", {
        key: a.keys.only["webhooks:read"],
      });
      assert.equal(hooks.status, 401);
      const successor = await send(app, "GET", "/api-gateway/v1/webhooks", {
        key: rotated.json.data.key,
      });
      assert.equal(successor.status, 200, "the successor is not touched");
    });
  },
});
