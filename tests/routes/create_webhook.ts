// POST /v1/webhooks: its declaration for the shared suites, and its own HTTP contract: the secret
// shown once, URLs the gateway refuses (before any connection: the resolver is the test's, and
// no fetch may be made), unknown event types, the endpoint limit.
import assert from "node:assert/strict";
import { createWebhook } from "../../supabase/functions/api-gateway/routes/create_webhook.ts";
import type { Resolver } from "../../supabase/functions/api-gateway/webhooks/url_policy.ts";
import { createTenant, databaseDigest } from "../harness/fixtures.ts";
import { routePath, send } from "../harness/http.ts";
import { PUBLIC_TEST_ADDRESS, refusingFetch } from "../harness/resolver.ts";
import { defineRouteTest } from "../harness/route_tests.ts";
import { assertWebhook, storedEndpoint } from "../harness/webhooks.ts";

const BOTH = ["company.contacts_linked", "company.contacts_unlinked"];
const path = routePath(createWebhook, {});

/** Names and what they resolve to, for the refusals below; every lookup is recorded. */
function fakeDns() {
  const asked: string[] = [];
  const table: Record<string, string[]> = {
    "hooks.example.com": [PUBLIC_TEST_ADDRESS],
    "private.example.com": ["10.1.2.3"],
    "metadata.example.com": ["169.254.169.254"],
    "mixed.example.com": [PUBLIC_TEST_ADDRESS, "127.0.0.1"],
    "loopback6.example.com": ["::1"],
    "mapped.example.com": ["::ffff:192.168.0.1"],
    "ula.example.com": ["fd12:3456::1"],
    "public6.example.com": ["2606:4700::6810:84e5"],
  };
  const resolve: Resolver = (host) => {
    asked.push(host);
    return Promise.resolve(table[host] ?? []);
  };
  return { asked, resolve };
}

export default defineRouteTest({
  endpoint: createWebhook,
  valid: () => ({
    params: {},
    body: { url: "https://hooks.example.com/new", events: BOTH, description: "CRM mirror" },
  }),
  variant: () => ({
    params: {},
    body: { url: "https://hooks.example.com/other", events: ["company.contacts_linked"] },
  }),
  invalid: () => ({ params: {}, body: { url: "https://hooks.example.com/x", events: "all" } }),
  ok: (json) => {
    const { webhook } = (json as { data: { webhook: Record<string, unknown> } }).data;
    assertWebhook(webhook, true);
    assert.equal(webhook.url, "https://hooks.example.com/new");
    assert.deepEqual(webhook.events, BOTH);
    assert.equal(webhook.active, true);
  },
  sqlData: {
    webhook: {
      id: "0e000000-0000-4000-8000-000000000009",
      url: "https://hooks.example.com/new",
      events: BOTH,
      description: null,
      active: true,
      disabled_reason: null,
      last_delivery_status: null,
      last_delivery_at: null,
      created_at: "2030-01-01T00:00:00.000000Z",
      updated_at: "2030-01-01T00:00:00.000000Z",
      secret: `whsec_${"A".repeat(43)}=`,
    },
  },
  writes: true,
  crossOrg: () => [],
  property: {
    // The published limit (at most 10 event types), written out on purpose: see maxItems.
    maxItems: { events: 10 },
    // The endpoint is the key's org's, stored with the secret the answer showed.
    async check200({ target, tenant }, json) {
      const { webhook } = (json as { data: { webhook: { id: string; secret: string } } }).data;
      const stored = await storedEndpoint(target.owner, webhook.id);
      assert.equal(stored?.org_id, tenant.orgId);
      assert.equal(stored?.secret, webhook.secret);
    },
  },

  async contract(t, { target, build }) {
    const dns = fakeDns();
    const { app } = build({
      webhooks: { urlPolicy: { resolve: dns.resolve }, fetch: refusingFetch },
    });
    const a = await createTenant(target.owner);
    const create = (body: unknown, key: string | null = a.keys.only["webhooks:write"]) =>
      send(app, "POST", path, { body, key });

    await t.step("201: the endpoint and its secret, shown only here", async () => {
      const res = await create({
        url: "https://hooks.example.com/crm",
        events: ["company.contacts_unlinked", "company.contacts_linked", "company.contacts_linked"],
      });
      assert.equal(res.status, 201, res.text);
      const { webhook } = res.json.data;
      assertWebhook(webhook, true);
      assert.deepEqual(webhook.events, BOTH, "distinct, sorted");
      assert.equal(webhook.description, null);
      assert.equal(webhook.last_delivery_status, null);
      const stored = await storedEndpoint(target.owner, webhook.id);
      assert.equal(stored?.secret, webhook.secret);
      // Listing never shows it again.
      const list = await send(app, "GET", "/api-gateway/v1/webhooks", {
        key: a.keys.only["webhooks:read"],
      });
      assert.equal(list.status, 200);
      assert.ok(!list.text.includes(webhook.secret), "the secret is never listed");
    });

    await t.step("active: false and a description are kept", async () => {
      const res = await create({
        url: "https://hooks.example.com/off",
        events: ["company.contacts_linked"],
        description: "paused",
        active: false,
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.json.data.webhook.active, false);
      assert.equal(res.json.data.webhook.description, "paused");
    });

    await t.step("a name that resolves only to public addresses, IPv6 included", async () => {
      const res = await create({ url: "https://public6.example.com/h", events: BOTH });
      assert.equal(res.status, 201, res.text);
    });

    const refused: [string, string, RegExp][] = [
      ["http", "http://hooks.example.com/x", /https/],
      ["another scheme", "ftp://hooks.example.com/x", /https/],
      ["not a URL", "hooks.example.com/x", /absolute URL/],
      ["credentials", "https://user:pass@hooks.example.com/x", /credentials/],
      ["loopback IPv4", "https://127.0.0.1/x", /not public/],
      ["private IPv4", "https://10.0.0.8/x", /not public/],
      ["private 172.16/12", "https://172.20.1.1/x", /not public/],
      ["private 192.168", "https://192.168.1.1:8443/x", /not public/],
      ["link-local (cloud metadata)", "https://169.254.169.254/latest", /not public/],
      ["CGNAT", "https://100.64.0.1/x", /not public/],
      ["unspecified", "https://0.0.0.0/x", /not public/],
      ["IPv4 as one number", "https://2130706433/x", /not public/],
      ["IPv4 in hex", "https://0x7f.0.0.1/x", /not public/],
      ["IPv4 shortened", "https://127.1/x", /not public/],
      ["loopback IPv6", "https://[::1]/x", /not public/],
      ["IPv4-mapped IPv6", "https://[::ffff:127.0.0.1]/x", /not public/],
      ["IPv4-mapped IPv6, hex", "https://[::ffff:a00:1]/x", /not public/],
      ["unique local IPv6", "https://[fd00::1]/x", /not public/],
      ["link-local IPv6", "https://[fe80::1]/x", /not public/],
      ["NAT64 of a private IPv4", "https://[64:ff9b::10.0.0.1]/x", /not public/],
      ["6to4 of a private IPv4", "https://[2002:c0a8:101::1]/x", /not public/],
      ["documentation IPv6", "https://[2001:db8::1]/x", /not public/],
      ["localhost", "https://localhost/x", /fully qualified|local/],
      ["a .localhost name", "https://api.localhost/x", /local name/],
      ["a single-label name", "https://intranet/x", /fully qualified/],
      ["a name resolving to a private address", "https://private.example.com/x", /resolves/],
      ["a name resolving to the metadata address", "https://metadata.example.com/x", /resolves/],
      ["a name with one private address among public", "https://mixed.example.com/x", /resolves/],
      ["a name resolving to ::1", "https://loopback6.example.com/x", /resolves/],
      ["a name resolving to a mapped private IPv4", "https://mapped.example.com/x", /resolves/],
      ["a name resolving to a unique local IPv6", "https://ula.example.com/x", /resolves/],
      ["a name that does not resolve", "https://nowhere.example.com/x", /does not resolve/],
      ["too long", `https://hooks.example.com/${"a".repeat(2048)}`, /longer/],
      ["empty", "", /absolute URL/],
    ];
    for (const [name, url, why] of refused) {
      await t.step(`400 invalid_url: ${name}`, async () => {
        const before = await databaseDigest(target.owner);
        const res = await create({ url, events: BOTH });
        assert.equal(res.status, 400, res.text);
        assert.equal(res.json.error.code, "invalid_url");
        assert.match(res.json.error.message, why);
        if (url.length > 8) {
          assert.ok(!res.text.includes(url.slice(8, 30)), "the URL is not echoed");
        }
        assert.equal(await databaseDigest(target.owner), before, "nothing written");
      });
    }

    await t.step("literal addresses are judged without any lookup", async () => {
      dns.asked.length = 0;
      await create({ url: "https://10.0.0.8/x", events: BOTH });
      await create({ url: "https://[fd00::1]/x", events: BOTH });
      assert.deepEqual(dns.asked, []);
    });

    await t.step("400 invalid_events: an unknown event type, named", async () => {
      const res = await create({
        url: "https://hooks.example.com/x",
        events: ["company.contacts_linked", "contact.deleted"],
      });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json.error.code, "invalid_events");
      assert.match(res.json.error.message, /contact\.deleted/);
    });

    await t.step("400 validation_error: events missing, empty, or not strings", async () => {
      for (
        const body of [{ url: "https://hooks.example.com/x" }, {
          url: "https://hooks.example.com/x",
          events: [],
        }, { url: "https://hooks.example.com/x", events: [1] }]
      ) {
        const res = await create(body);
        assert.equal(res.status, 400, res.text);
        assert.equal(res.json.error.code, "validation_error");
      }
    });

    await t.step("http://localhost and 127.0.0.1: the dev server's policy only", async () => {
      const dev = build({
        webhooks: { urlPolicy: { allowLocalHttp: true, resolve: dns.resolve } },
      });
      for (const url of ["http://127.0.0.1:8080/hook", "http://localhost:9000/h"]) {
        const res = await send(dev.app, "POST", path, {
          body: { url, events: BOTH },
          key: a.keys.only["webhooks:write"],
        });
        assert.equal(res.status, 201, `${url}: ${res.text}`);
        const refused = await create({ url, events: BOTH });
        assert.equal(refused.json.error.code, "invalid_url", `${url} refused outside dev`);
      }
      // Even there, only loopback is local: a private network is not.
      const res = await send(dev.app, "POST", path, {
        body: { url: "http://10.0.0.8/hook", events: BOTH },
        key: a.keys.only["webhooks:write"],
      });
      assert.equal(res.json.error.code, "invalid_url");
    });

    await t.step("409 webhook_limit_reached past the org's limit", async () => {
      const small = await createTenant(target.owner, { maxWebhooks: 3 });
      const key = small.keys.only["webhooks:write"];
      const first = await create({ url: "https://hooks.example.com/3", events: BOTH }, key);
      assert.equal(first.status, 201, first.text);
      const over = await create({ url: "https://hooks.example.com/4", events: BOTH }, key);
      assert.equal(over.status, 409, over.text);
      assert.equal(over.json.error.code, "webhook_limit_reached");
    });
  },
});
