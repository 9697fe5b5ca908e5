// The dev server delivers webhooks by itself: an endpoint at a local receiver (http to 127.0.0.1,
// which only the dev server allows), a link through its HTTP port, and within a few of its
// one-second dispatcher rounds the receiver has the event, verified by `standardwebhooks`.
import assert from "node:assert/strict";
import { freePort } from "../../local/net.ts";
import { spawnDev } from "../harness/dev_server.ts";
import { startReceiver } from "../harness/receiver.ts";
import { explained } from "../harness/server_output.ts";
import { until } from "../harness/until.ts";

type Dev = ReturnType<typeof spawnDev>;

/** Through the dev server's HTTP port, as a client would: an endpoint at `receiver` subscribed to
 * `event` (its secret pushed to `secrets`), then the printed curl's contacts sent through
 * `actions` (the first undoes the seed's state, so the last changes both contacts). */
async function subscribeAndChange(
  dev: Dev,
  port: number,
  receiver: { url: string },
  secrets: string[],
  event: string,
  actions: string[],
) {
  const printed = await dev.ready();
  const gateway = `http://127.0.0.1:${port}/functions/v1/api-gateway`;
  const headers = { authorization: `Bearer ${dev.key()}`, "content-type": "application/json" };
  const company = printed.match(/\/v1\/companies\/([0-9a-f-]{36})\/contacts\/link/)![1];
  const contacts: string[] = JSON.parse(printed.match(/-d '(.*)'/)![1]).contact_ids;
  const created = await fetch(`${gateway}/v1/webhooks`, {
    method: "POST",
    headers,
    body: JSON.stringify({ url: receiver.url, events: [event] }),
  });
  const body = await created.json();
  assert.equal(created.status, 201, JSON.stringify(body));
  secrets.push(body.data.webhook.secret);
  for (const action of actions) {
    const res = await fetch(`${gateway}/v1/companies/${company}/contacts/${action}`, {
      method: "POST",
      headers,
      body: JSON.stringify({ contact_ids: contacts }),
    });
    assert.equal(res.status, 200, await res.text());
  }
  return { gateway, company, contacts };
}

Deno.test("e2e: `deno task dev` delivers a link's webhook to a local receiver", async () => {
  const port = freePort();
  const dev = spawnDev(port);
  const secrets: string[] = [];
  const receiver = startReceiver(() => secrets);
  try {
    await explained([dev], async () => {
      // Unlinked first, so the link changes both contacts (the unlink is not subscribed).
      const { company, contacts } = await subscribeAndChange(
        dev,
        port,
        receiver,
        secrets,
        "company.contacts_linked",
        ["unlink", "link"],
      );

      await until(() => receiver.received.length > 0, "a delivery within 30 s");
      const [got] = receiver.received;
      assert.deepEqual(got.verifiedBy, secrets, "verified by standardwebhooks");
      const event = JSON.parse(got.body);
      assert.equal(event.type, "company.contacts_linked");
      assert.equal(event.data.company_id, company);
      assert.deepEqual(event.data.contact_ids, [...contacts].sort());
      assert.equal(event.data.count, contacts.length);
      assert.ok(!dev.stdout.text.includes(secrets[0]) && !dev.stderr.text.includes(secrets[0]));
    });
  } finally {
    await dev.stop();
    await receiver.close();
  }
});

Deno.test(
  "e2e: with WEBHOOK_DISPATCH_SECRET, `deno task dev` delivers only when its dispatch route is called",
  async () => {
    const port = freePort();
    const secret = "e2e-dispatch-secret-0123456789abcdefghij";
    const dev = spawnDev(port, { env: { WEBHOOK_DISPATCH_SECRET: secret } });
    const secrets: string[] = [];
    const receiver = startReceiver(() => secrets);
    try {
      await explained([dev], async () => {
        // Linked first, so the unlink changes both contacts (the link is not subscribed).
        const { gateway } = await subscribeAndChange(
          dev,
          port,
          receiver,
          secrets,
          "company.contacts_unlinked",
          ["link", "unlink"],
        );

        // Its own dispatcher would have sent it within a second or two: it is off.
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        assert.equal(receiver.received.length, 0, "nothing sent before the route is called");

        const dispatch = (key: string) =>
          fetch(`${gateway}/internal/dispatch-webhooks`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}` },
          });
        const wrong = await dispatch("not-the-secret");
        assert.equal(wrong.status, 401, await wrong.text());
        const res = await dispatch(secret);
        const report = await res.json();
        assert.equal(res.status, 200, JSON.stringify(report));
        assert.equal(report.data.claimed, 1);
        assert.equal(report.data.succeeded, 1);
        assert.equal(receiver.received.length, 1);
        assert.deepEqual(receiver.received[0].verifiedBy, secrets, "verified by standardwebhooks");
        assert.equal(JSON.parse(receiver.received[0].body).type, "company.contacts_unlinked");
        assert.ok(!dev.stdout.text.includes(secret) && !dev.stderr.text.includes(secret));
      });
    } finally {
      await dev.stop();
      await receiver.close();
    }
  },
);
