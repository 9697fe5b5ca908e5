// GET /v1/webhooks: its declaration for the shared suites, and its own HTTP contract.
import assert from "node:assert/strict";
import { listWebhooks } from "../../supabase/functions/api-gateway/routes/list_webhooks.ts";
import { createTenant } from "../harness/fixtures.ts";
import { send } from "../harness/http.ts";
import { defineRouteTest } from "../harness/route_tests.ts";
import { assertWebhook } from "../harness/webhooks.ts";

type Page = {
  data: Record<string, unknown>[];
  meta: { page: number; per_page: number; total: number; has_more: boolean };
};

export default defineRouteTest({
  endpoint: listWebhooks,
  valid: () => ({ params: {}, query: { page: "1", per_page: "50" } }),
  invalid: () => ({ params: {}, query: { page: "0" } }),
  ok: (json, self) => {
    const page = json as Page;
    assert.equal(page.meta.page, 1);
    assert.equal(page.meta.per_page, 50);
    assert.equal(page.data.length, Math.min(page.meta.total, 50));
    for (const w of page.data) assertWebhook(w);
    // The first endpoint (the second one is the delete route's to delete).
    assert.ok(page.data.some((w) => w.id === self.webhookIds[0]), self.webhookIds[0]);
  },
  sqlData: { webhooks: [], total: 0, has_more: false },
  writes: false,
  crossOrg: () => [],
  property: {
    // Only the key's org's endpoints, never a secret.
    async check200({ target, tenant }, json) {
      const page = json as Page;
      for (const w of page.data) assertWebhook(w);
      const ids = page.data.map((w) => w.id as string);
      const rows = await target.owner<{ id: string }>(
        "select id from public.webhook_endpoints where id = any($1::uuid[]) and org_id <> $2",
        [ids, tenant.orgId],
      );
      assert.equal(rows.length, 0, "another org's endpoint listed");
    },
  },

  async contract(t, { target, build }) {
    const { app } = build();
    const a = await createTenant(target.owner);
    const b = await createTenant(target.owner);
    const key = a.keys.only["webhooks:read"];
    const list = (query = "") => send(app, "GET", `/api-gateway/v1/webhooks${query}`, { key });

    await t.step("the org's endpoints, oldest first, never another org's or a secret", async () => {
      await target.owner(
        "update public.webhook_endpoints set created_at = now() - interval '1 hour' where id = $1",
        [a.webhookIds[1]],
      );
      const res = await list();
      assert.equal(res.status, 200, res.text);
      const page = res.json as Page;
      assert.deepEqual(page.data.map((w) => w.id), [a.webhookIds[1], a.webhookIds[0]]);
      assert.deepEqual(page.meta, {
        page: 1,
        per_page: 50,
        total: 2,
        has_more: false,
        next_cursor: null,
      });
      assert.ok(!res.text.includes("whsec_"));
      assert.ok(b.webhookIds.every((id) => !res.text.includes(id)));
    });

    await t.step("pages: per_page splits, total stays, past the end is empty", async () => {
      const first = (await list("?per_page=1")).json as Page;
      const second = (await list("?per_page=1&page=2")).json as Page;
      const third = (await list("?per_page=1&page=3")).json as Page;
      assert.equal(first.data.length, 1);
      assert.equal(second.data.length, 1);
      assert.notEqual(first.data[0].id, second.data[0].id);
      assert.deepEqual(third.data, []);
      assert.equal(third.meta.total, 2);
    });

    await t.step("the last delivery's outcome and time", async () => {
      await target.owner(
        `update public.webhook_endpoints set last_delivery_status = 'failed',
           last_delivery_at = '2030-01-02T03:04:05Z' where id = $1`,
        [a.webhookIds[0]],
      );
      const w = ((await list()).json as Page).data.find((x) => x.id === a.webhookIds[0])!;
      assert.equal(w.last_delivery_status, "failed");
      assert.equal(w.last_delivery_at, "2030-01-02T03:04:05.000000Z");
    });

    await t.step("a deleted endpoint is not listed", async () => {
      await target.owner("update public.webhook_endpoints set deleted_at = now() where id = $1", [
        a.webhookIds[1],
      ]);
      const page = (await list()).json as Page;
      assert.deepEqual(page.data.map((w) => w.id), [a.webhookIds[0]]);
      assert.equal(page.meta.total, 1);
    });

    await t.step("scopes are exact: webhooks:write alone is 403", async () => {
      const res = await send(app, "GET", "/api-gateway/v1/webhooks", {
        key: a.keys.only["webhooks:write"],
      });
      assert.equal(res.status, 403);
      assert.match(res.json.error.message, /webhooks:read/);
    });
  },
});
