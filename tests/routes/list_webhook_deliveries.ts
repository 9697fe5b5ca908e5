// GET /v1/webhooks/{id}/deliveries: its declaration for the shared suites, and its own HTTP
// contract.
import assert from "node:assert/strict";
import { listWebhookDeliveries } from "../../supabase/functions/api-gateway/routes/list_webhook_deliveries.ts";
import { createTenant } from "../harness/fixtures.ts";
import { routePath, send } from "../harness/http.ts";
import { defineRouteTest } from "../harness/route_tests.ts";
import { ISO_UTC } from "../harness/webhooks.ts";

type Page = {
  data: {
    id: string;
    event_id: string;
    event_type: string;
    status: string;
    next_attempt_at: string | null;
    created_at: string;
    attempt_count: number;
    attempts: Record<string, unknown>[];
  }[];
  meta: { page: number; per_page: number; total: number; has_more: boolean };
};

export default defineRouteTest({
  endpoint: listWebhookDeliveries,
  valid: (self) => ({ params: { id: self.webhookIds[0] }, query: { page: "1", per_page: "50" } }),
  ok: (json) => {
    const page = json as Page;
    assert.equal(page.data.length, Math.min(page.meta.total, 50));
    for (const d of page.data) {
      assert.deepEqual(
        Object.keys(d).sort(),
        [
          "attempt_count",
          "attempts",
          "created_at",
          "event_id",
          "event_type",
          "id",
          "next_attempt_at",
          "status",
        ],
      );
    }
  },
  sqlData: { deliveries: [], total: 0, has_more: false },
  writes: false,
  property: {
    // Only the endpoint's deliveries, and the endpoint is the key's org's.
    async check200({ target, tenant, sent }, json) {
      const id = /\/webhooks\/([^/]+)\/deliveries/.exec(decodeURIComponent(sent.path))![1];
      const ids = (json as Page).data.map((d) => d.id);
      const foreign = await target.owner<{ id: string }>(
        `select id from public.webhook_deliveries
         where id = any($1::uuid[]) and (endpoint_id <> $2 or org_id <> $3)`,
        [ids, id.toLowerCase(), tenant.orgId],
      );
      assert.equal(foreign.length, 0, "a delivery of another endpoint or org listed");
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
    const [d1] = a.deliveryIds;
    const list = (query = "") =>
      send(app, "GET", `${routePath(listWebhookDeliveries, { id: w1 })}${query}`, {
        key: a.keys.only["webhooks:read"],
      });

    await t.step("each delivery with its event type, status and attempts", async () => {
      const claimed = await target.db.call<{ delivery_id: string; attempt: number }[]>(
        "claim_webhook_deliveries",
        // Every due delivery: other tests' tenants may share the database.
        { p_limit: 1_000 },
      );
      const mine = claimed.find((c) => c.delivery_id === d1)!;
      await target.db.call("record_webhook_attempt", {
        p_delivery_id: d1,
        p_attempt: mine.attempt,
        p_status_code: 500,
        p_duration_ms: 42,
        p_error_class: "http_status",
        p_response_prefix: "upstream broke",
      });
      const res = await list();
      assert.equal(res.status, 200, res.text);
      const [delivery] = (res.json as Page).data;
      assert.equal(delivery.id, d1);
      assert.equal(delivery.event_type, "company.contacts_linked");
      assert.equal(delivery.status, "pending");
      assert.match(delivery.next_attempt_at!, ISO_UTC);
      assert.equal(delivery.attempts.length, 1);
      const [attempt] = delivery.attempts;
      assert.equal(attempt.attempt, 1);
      assert.equal(attempt.status_code, 500);
      assert.equal(attempt.duration_ms, 42);
      assert.equal(attempt.error_class, "http_status");
      assert.equal(attempt.response_prefix, "upstream broke");
      assert.match(attempt.attempted_at as string, ISO_UTC);
    });

    await t.step("newest first; pages", async () => {
      const [{ id: event }] = await target.owner<{ id: string }>(
        `insert into public.webhook_events (org_id, type, body) values ($1, 'company.contacts_unlinked', '{}')
         returning id`,
        [a.orgId],
      );
      const [{ id: d2 }] = await target.owner<{ id: string }>(
        `insert into public.webhook_deliveries (org_id, event_id, endpoint_id, created_at)
         values ($1, $2, $3, now() + interval '1 second') returning id`,
        [a.orgId, event, w1],
      );
      const page = (await list()).json as Page;
      assert.deepEqual(page.data.map((d) => d.id), [d2, d1]);
      assert.equal(page.meta.total, 2);
      const second = (await list("?per_page=1&page=2")).json as Page;
      assert.deepEqual(second.data.map((d) => d.id), [d1]);
    });

    await t.step("the latest 20 attempts, oldest first, and how many there were", async () => {
      await target.owner(
        `insert into public.webhook_attempts
           (org_id, delivery_id, attempt, attempted_at, status_code, duration_ms, error_class)
         select $1, $2, g, now() + make_interval(secs => g), 503, g, 'http_status'
         from generate_series(2, 25) g`,
        [a.orgId, d1],
      );
      const delivery = ((await list()).json as Page).data.find((d) => d.id === d1)!;
      assert.equal(delivery.attempt_count, 25);
      assert.deepEqual(
        delivery.attempts.map((x) => x.attempt),
        Array.from({ length: 20 }, (_, i) => i + 6),
      );
    });

    await t.step("404: an endpoint that never was", async () => {
      const res = await send(
        app,
        "GET",
        routePath(listWebhookDeliveries, { id: "00000000-0000-4000-8000-0000000000bb" }),
        { key: a.keys.only["webhooks:read"] },
      );
      assert.equal(res.status, 404);
      assert.equal(res.json.error.code, "webhook_not_found");
    });
  },
});
