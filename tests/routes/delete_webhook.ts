// DELETE /v1/webhooks/{id}: its declaration for the shared suites, and its own HTTP contract.
import assert from "node:assert/strict";
import { deleteWebhook } from "../../supabase/functions/api-gateway/routes/delete_webhook.ts";
import { createTenant } from "../harness/fixtures.ts";
import { routePath, send } from "../harness/http.ts";
import { defineRouteTest } from "../harness/route_tests.ts";
import { deliveryStatus, storedEndpoint } from "../harness/webhooks.ts";

export default defineRouteTest({
  endpoint: deleteWebhook,
  // The second endpoint: the first keeps serving the other routes' tests. Deleting is idempotent,
  // so the suites may send this as often as they like.
  valid: (self) => ({ params: { id: self.webhookIds[1] } }),
  ok: (json) => assert.equal(json, undefined, "204: no body"),
  sqlData: { deleted: true },
  writes: true,
  property: {
    // The other routes' valid(self) needs the tenants' endpoints: a DELETE the suite provoked
    // (its own, or another route's path under DELETE) is undone once checked.
    async restore({ target, tenants }) {
      await target.owner(
        `update public.webhook_endpoints set deleted_at = null, active = true
         where org_id = any($1::uuid[])`,
        [tenants.map((t) => t.orgId)],
      );
      await target.owner(
        `update public.webhook_deliveries set status = 'pending'
         where org_id = any($1::uuid[]) and status = 'cancelled'`,
        [tenants.map((t) => t.orgId)],
      );
    },
  },
  crossOrg: (_self, other) => [{
    name: "another org's endpoint",
    params: { id: other.webhookIds[0] },
    status: 404,
    code: "webhook_not_found",
  }],

  async contract(t, { target, build }) {
    const { app } = build();
    const a = await createTenant(target.owner);
    const [w1] = a.webhookIds;
    const del = (id: string) =>
      send(app, "DELETE", routePath(deleteWebhook, { id }), { key: a.keys.only["webhooks:write"] });

    await t.step("204; its pending deliveries are cancelled; gone from every answer", async () => {
      assert.equal(await deliveryStatus(target.owner, a.deliveryIds[0]), "pending");
      const res = await del(w1);
      assert.equal(res.status, 204, res.text);
      assert.equal(res.text, "");
      assert.equal(await deliveryStatus(target.owner, a.deliveryIds[0]), "cancelled");
      const stored = await storedEndpoint(target.owner, w1);
      assert.ok(stored?.deleted_at);
      assert.equal(stored?.active, false);
      const read = a.keys.only["webhooks:read"];
      const list = await send(app, "GET", "/api-gateway/v1/webhooks", { key: read });
      assert.ok(!list.text.includes(w1));
      const deliveries = await send(app, "GET", `/api-gateway/v1/webhooks/${w1}/deliveries`, {
        key: read,
      });
      assert.equal(deliveries.json.error.code, "webhook_not_found");
    });

    await t.step("again: 204 (idempotent), nothing else changes", async () => {
      const res = await del(w1);
      assert.equal(res.status, 204);
    });

    await t.step("a link after the delete writes no delivery for it", async () => {
      await del(a.webhookIds[1]);
      const res = await send(
        app,
        "POST",
        `/api-gateway/v1/companies/${a.companyIds[0]}/contacts/link`,
        {
          key: a.keys.only["contacts:write"],
          body: { contact_ids: a.contactIds.slice(0, 2) },
        },
      );
      assert.equal(res.status, 200, res.text);
      const [{ n }] = await target.owner<{ n: number }>(
        "select count(*)::int as n from public.webhook_events where org_id = $1",
        [a.orgId],
      );
      assert.equal(n, 1, "only the fixture's event: no endpoint is subscribed any more");
    });

    await t.step("404 for an id that never was", async () => {
      const res = await del("00000000-0000-4000-8000-0000000000aa");
      assert.equal(res.status, 404);
      assert.equal(res.json.error.code, "webhook_not_found");
    });
  },
});
