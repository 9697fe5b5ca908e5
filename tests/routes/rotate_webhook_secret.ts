// POST /v1/webhooks/{id}/rotate-secret: its declaration for the shared suites, and its own HTTP
// contract.
import assert from "node:assert/strict";
import { rotateWebhookSecret } from "../../supabase/functions/api-gateway/routes/rotate_webhook_secret.ts";
import { createTenant } from "../harness/fixtures.ts";
import { routePath, send } from "../harness/http.ts";
import { defineRouteTest } from "../harness/route_tests.ts";
import { testKeyring } from "../harness/secrets.ts";
import { assertStoredSecret, ISO_UTC, SECRET, storedEndpoint } from "../harness/webhooks.ts";

type Rotated = {
  data: { webhook: { id: string; secret: string; previous_secret_expires_at: string } };
};

export default defineRouteTest({
  endpoint: rotateWebhookSecret,
  valid: (self) => ({ params: { id: self.webhookIds[0] } }),
  ok: (json, self) => {
    const { webhook } = (json as Rotated).data;
    assert.deepEqual(Object.keys(webhook).sort(), ["id", "previous_secret_expires_at", "secret"]);
    assert.equal(webhook.id, self.webhookIds[0]);
    assert.match(webhook.secret, SECRET);
    assert.match(webhook.previous_secret_expires_at, ISO_UTC);
  },
  sqlData: {
    webhook: {
      id: "0e000000-0000-4000-8000-000000000001",
      // As the function stores and returns it: encrypted (the answer shows it decrypted).
      secret: await testKeyring.encrypt(`whsec_${"B".repeat(43)}=`),
      previous_secret_expires_at: "2030-01-02T00:00:00.000000Z",
    },
  },
  writes: true,
  crossOrg: (_self, other) => [{
    name: "another org's endpoint",
    params: { id: other.webhookIds[0] },
    status: 404,
    code: "webhook_not_found",
  }],

  async contract(t, { target, build }) {
    const clock = { at: new Date("2031-02-03T04:05:06Z") };
    const { app } = build({ clock: () => clock.at });
    const a = await createTenant(target.owner);
    const [w1] = a.webhookIds;
    const rotate = () =>
      send(app, "POST", routePath(rotateWebhookSecret, { id: w1 }), {
        key: a.keys.only["webhooks:write"],
      });
    const claim = async (at: string) =>
      (await target.db.call<{ secrets: string[]; delivery_id: string }[]>(
        "claim_webhook_deliveries",
        // Every due delivery: other tests' tenants may share the database.
        { p_limit: 1_000, p_lease_seconds: 1, p_now: at },
      )).find((c) => c.delivery_id === a.deliveryIds[0]);

    await t.step("a new secret; the old one signs beside it for 24 hours", async () => {
      const before = await storedEndpoint(target.owner, w1);
      const res = await rotate();
      assert.equal(res.status, 200, res.text);
      const { webhook } = (res.json as Rotated).data;
      assert.notEqual(webhook.secret, before?.secret);
      assert.equal(webhook.previous_secret_expires_at, "2031-02-04T04:05:06.000000Z");
      const within = await claim("2031-02-04T04:05:05Z");
      assert.deepEqual(within?.secrets[1], before?.secret, "claimed as stored: encrypted");
      assert.deepEqual(
        await Promise.all(within!.secrets.map((x) => testKeyring.decrypt(x))),
        [webhook.secret, await testKeyring.decrypt(before!.secret)],
      );
    });

    await t.step("after 24 hours only the new one signs", async () => {
      const after = await claim("2031-02-04T04:05:10Z");
      assert.equal(after?.secrets.length, 1);
      assert.equal(after?.secrets[0], (await storedEndpoint(target.owner, w1))?.secret);
    });

    await t.step("a second rotation keeps the one it replaces, drops the oldest", async () => {
      const first = (await rotate()).json as Rotated;
      const second = (await rotate()).json as Rotated;
      const stored = await storedEndpoint(target.owner, w1);
      await assertStoredSecret(stored?.secret, second.data.webhook.secret);
      await assertStoredSecret(stored?.previous_secret, first.data.webhook.secret);
    });
  },
});
