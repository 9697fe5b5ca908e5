// POST /v1/webhooks/{id}/deliveries/{delivery_id}/retry: its declaration for the shared suites,
// and its own HTTP contract.
import assert from "node:assert/strict";
import { retryWebhookDelivery } from "../../supabase/functions/api-gateway/routes/retry_webhook_delivery.ts";
import { createTenant } from "../harness/fixtures.ts";
import { routePath, send } from "../harness/http.ts";
import { defineRouteTest } from "../harness/route_tests.ts";
import { deliveryStatus } from "../harness/webhooks.ts";

export default defineRouteTest({
  endpoint: retryWebhookDelivery,
  valid: (self) => ({ params: { id: self.webhookIds[0], delivery_id: self.deliveryIds[0] } }),
  ok: (json, self) => {
    const { delivery } = (json as {
      data: {
        delivery: { id: string; status: string; attempt_count: number; attempts: unknown[] };
      };
    }).data;
    assert.equal(delivery.id, self.deliveryIds[0]);
    assert.equal(delivery.status, "pending");
    assert.equal(delivery.attempt_count, delivery.attempts.length);
  },
  sqlData: {
    delivery: {
      id: "0d100000-0000-4000-8000-000000000001",
      event_id: "0f100000-0000-4000-8000-000000000001",
      event_type: "company.contacts_linked",
      status: "pending",
      next_attempt_at: "2030-01-01T00:00:00.000000Z",
      created_at: "2030-01-01T00:00:00.000000Z",
      attempt_count: 0,
      attempts: [],
    },
  },
  writes: true,
  crossOrg: (self, other) => [{
    name: "another org's endpoint and delivery",
    params: { id: other.webhookIds[0], delivery_id: other.deliveryIds[0] },
    status: 404,
    code: "webhook_not_found",
  }, {
    name: "another org's delivery under one's own endpoint",
    params: { id: self.webhookIds[0], delivery_id: other.deliveryIds[0] },
    status: 404,
    code: "delivery_not_found",
  }],

  async contract(t, { target, build }) {
    const clock = { at: new Date("2032-03-04T05:06:07Z") };
    const { app } = build({ clock: () => clock.at });
    const a = await createTenant(target.owner);
    const [w1, w2] = a.webhookIds;
    const [d1] = a.deliveryIds;
    const retry = (id: string, delivery: string) =>
      send(app, "POST", routePath(retryWebhookDelivery, { id, delivery_id: delivery }), {
        key: a.keys.only["webhooks:write"],
      });

    await t.step("a failed delivery is due again at once: 202", async () => {
      await target.owner(
        "update public.webhook_deliveries set status = 'failed', attempts = 8 where id = $1",
        [d1],
      );
      const res = await retry(w1, d1);
      assert.equal(res.status, 202, res.text);
      assert.equal(res.json.data.delivery.status, "pending");
      assert.equal(res.json.data.delivery.next_attempt_at, "2032-03-04T05:06:07.000000Z");
      assert.equal(await deliveryStatus(target.owner, d1), "pending");
    });

    await t.step("404 delivery_not_found: not this endpoint's", async () => {
      const res = await retry(w2, d1);
      assert.equal(res.status, 404);
      assert.equal(res.json.error.code, "delivery_not_found");
    });

    await t.step("10 manual retries a day per delivery, then 429 with Retry-After", async () => {
      // The step above retried d1 once: 9 more are allowed within its 24 hours.
      // Between retries the delivery was tried and failed: it is due later.
      const tried = () =>
        target.owner(
          "update public.webhook_deliveries set next_attempt_at = $2 where id = $1",
          [d1, new Date(clock.at.getTime() + 3_600_000)],
        );
      for (let i = 2; i <= 10; i++) {
        clock.at = new Date(clock.at.getTime() + 60_000);
        await tried();
        const res = await retry(w1, d1);
        assert.equal(res.status, 202, `retry ${i}: ${res.text}`);
      }
      // Retrying one that is due already changes nothing, and is not counted.
      const again = await retry(w1, d1);
      assert.equal(again.status, 202, again.text);
      clock.at = new Date(clock.at.getTime() + 60_000);
      await tried();
      const limited = await retry(w1, d1);
      assert.equal(limited.status, 429, limited.text);
      assert.equal(limited.json.error.code, "delivery_retry_limited");
      // The window began at the first retry, 10 minutes ago: 23 h 50 min are left.
      assert.equal(limited.headers.get("retry-after"), String(24 * 3600 - 600));
      assert.ok(limited.headers.get("x-ratelimit-remaining"), "the quota headers ride along");
      const [row] = await target.owner<{ manual_retries: number }>(
        "select manual_retries from public.webhook_deliveries where id = $1",
        [d1],
      );
      assert.equal(row.manual_retries, 10, "the refused retry changed nothing");
      // Another delivery has its own allowance.
      const [{ id: other }] = await target.owner<{ id: string }>(
        `insert into public.webhook_deliveries (org_id, event_id, endpoint_id)
         select org_id, event_id, endpoint_id from public.webhook_deliveries where id = $1
         returning id`,
        [d1],
      );
      assert.equal((await retry(w1, other)).status, 202);
      // A day after the window began, d1 may be retried again.
      clock.at = new Date(clock.at.getTime() - 600_000 + 24 * 3600_000);
      await tried();
      assert.equal((await retry(w1, d1)).status, 202);
    });

    await t.step("409 webhook_inactive: turn the endpoint back on first", async () => {
      await target.owner("update public.webhook_endpoints set active = false where id = $1", [w1]);
      const res = await retry(w1, d1);
      assert.equal(res.status, 409, res.text);
      assert.equal(res.json.error.code, "webhook_inactive");
    });
  },
});
