// PATCH /v1/webhooks/{id}: its declaration for the shared suites, and its own HTTP contract.
import assert from "node:assert/strict";
import { updateWebhook } from "../../supabase/functions/api-gateway/routes/update_webhook.ts";
import { createTenant, databaseDigest } from "../harness/fixtures.ts";
import { routePath, send } from "../harness/http.ts";
import { defineRouteTest } from "../harness/route_tests.ts";
import { assertWebhook, deliveryStatus, storedEndpoint } from "../harness/webhooks.ts";

const MISSING = "00000000-0000-4000-8000-00000000f00d";

export default defineRouteTest({
  endpoint: updateWebhook,
  valid: (self) => ({ params: { id: self.webhookIds[0] }, body: { description: "changed" } }),
  ok: (json, self) => {
    const { webhook } = (json as { data: { webhook: Record<string, unknown> } }).data;
    assertWebhook(webhook);
    assert.equal(webhook.id, self.webhookIds[0]);
    assert.equal(webhook.description, "changed");
  },
  sqlData: {
    webhook: {
      id: "0e000000-0000-4000-8000-000000000001",
      url: "https://hooks.example.com/1",
      events: ["company.contacts_linked"],
      description: "changed",
      active: true,
      disabled_reason: null,
      last_delivery_status: null,
      last_delivery_at: null,
      created_at: "2030-01-01T00:00:00.000000Z",
      updated_at: "2030-01-01T00:00:00.000000Z",
    },
  },
  writes: true,
  crossOrg: (_self, other) => [{
    name: "another org's endpoint",
    params: { id: other.webhookIds[0] },
    body: { description: "mine now" },
    status: 404,
    code: "webhook_not_found",
  }, {
    name: "another org's endpoint, turned off",
    params: { id: other.webhookIds[1] },
    body: { active: false },
    status: 404,
    code: "webhook_not_found",
  }],

  async contract(t, { target, build }) {
    const { app } = build();
    const a = await createTenant(target.owner);
    const [w1] = a.webhookIds;
    const key = a.keys.only["webhooks:write"];
    const patch = (id: string, body: unknown) =>
      send(app, "PATCH", routePath(updateWebhook, { id }), { body, key });

    await t.step("only the fields named change", async () => {
      const res = await patch(w1, { url: "https://hooks.example.com/moved" });
      assert.equal(res.status, 200, res.text);
      const stored = await storedEndpoint(target.owner, w1);
      assert.equal(stored?.url, "https://hooks.example.com/moved");
      assert.deepEqual(stored?.events, ["company.contacts_linked", "company.contacts_unlinked"]);
      const events = await patch(w1, { events: ["company.contacts_unlinked"] });
      assert.deepEqual(events.json.data.webhook.events, ["company.contacts_unlinked"]);
      assert.equal(events.json.data.webhook.url, "https://hooks.example.com/moved");
    });

    await t.step("description: set, then cleared with null", async () => {
      assert.equal((await patch(w1, { description: "x" })).json.data.webhook.description, "x");
      assert.equal((await patch(w1, { description: null })).json.data.webhook.description, null);
    });

    await t.step("turned off and on; on again clears why the gateway turned it off", async () => {
      assert.equal((await patch(w1, { active: false })).json.data.webhook.active, false);
      await target.owner(
        "update public.webhook_endpoints set disabled_reason = 'gone', failing_since = now() where id = $1",
        [w1],
      );
      const on = await patch(w1, { active: true });
      assert.equal(on.json.data.webhook.active, true);
      assert.equal(on.json.data.webhook.disabled_reason, null);
    });

    await t.step(
      "refused: invalid_url, invalid_events, an empty body; nothing written",
      async () => {
        const before = await databaseDigest(target.owner);
        const cases: [unknown, string][] = [
          [{ url: "https://10.0.0.1/x" }, "invalid_url"],
          [{ url: "http://hooks.example.com/x" }, "invalid_url"],
          [{ events: ["nope"] }, "invalid_events"],
          [{}, "validation_error"],
          [{ secret: "whsec_x" }, "validation_error"],
        ];
        for (const [body, code] of cases) {
          const res = await patch(w1, body);
          assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
          assert.equal(res.json.error.code, code);
        }
        assert.equal(await databaseDigest(target.owner), before);
      },
    );

    await t.step("a URL is stored normalised; another endpoint's URL is 409", async () => {
      const res = await patch(w1, { url: "HTTPS://Hooks.Example.com:443/Moved" });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.data.webhook.url, "https://hooks.example.com/Moved");
      assert.equal(
        (await storedEndpoint(target.owner, w1))?.url,
        "https://hooks.example.com/Moved",
      );
      // Its own URL again is no conflict.
      assert.equal((await patch(w1, { url: "https://hooks.example.com/Moved" })).status, 200);
      const before = await databaseDigest(target.owner);
      const taken = await patch(a.webhookIds[1], { url: " https:hooks.example.com/Moved" });
      assert.equal(taken.status, 409, taken.text);
      assert.equal(taken.json.error.code, "webhook_url_taken");
      assert.equal(await databaseDigest(target.owner), before, "nothing written");
    });

    await t.step("turned off, its pending deliveries are cancelled, and stay so", async () => {
      const [d1] = a.deliveryIds;
      await target.owner("update public.webhook_deliveries set status = 'pending' where id = $1", [
        d1,
      ]);
      assert.equal((await patch(w1, { active: false })).status, 200);
      assert.equal(await deliveryStatus(target.owner, d1), "cancelled");
      assert.equal((await patch(w1, { active: true })).status, 200);
      assert.equal(await deliveryStatus(target.owner, d1), "cancelled", "not revived");
    });

    await t.step("404 webhook_not_found: none such, or deleted", async () => {
      assert.equal((await patch(MISSING, { active: true })).json.error.code, "webhook_not_found");
      await target.owner("update public.webhook_endpoints set deleted_at = now() where id = $1", [
        a.webhookIds[1],
      ]);
      const res = await patch(a.webhookIds[1], { active: true });
      assert.equal(res.status, 404);
      assert.equal(res.json.error.code, "webhook_not_found");
    });
  },
});
