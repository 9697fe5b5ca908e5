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
import { testKeyring } from "../harness/secrets.ts";
import { assertStoredSecret, assertWebhook, storedEndpoint } from "../harness/webhooks.ts";

const BOTH = ["company.contacts_linked", "company.contacts_unlinked"];
const path = routePath(createWebhook, {});
/** The valid request's URL: one of its own each time, since an org has one endpoint per URL. */
const NEW_URL = "https://hooks.example.com/new";
let made = 0;

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
    body: { url: `${NEW_URL}/${++made}`, events: BOTH, description: "CRM mirror" },
  }),
  variant: () => ({
    params: {},
    body: { url: "https://hooks.example.com/other", events: ["company.contacts_linked"] },
  }),
  invalid: () => ({ params: {}, body: { url: "https://hooks.example.com/x", events: "all" } }),
  ok: (json) => {
    const { webhook } = (json as { data: { webhook: Record<string, unknown> } }).data;
    assertWebhook(webhook, true);
    assert.ok(String(webhook.url).startsWith(`${NEW_URL}/`), String(webhook.url));
    assert.deepEqual(webhook.events, BOTH);
    assert.equal(webhook.active, true);
  },
  sqlData: {
    webhook: {
      id: "0e000000-0000-4000-8000-000000000009",
      url: `${NEW_URL}/1`,
      events: BOTH,
      description: null,
      active: true,
      disabled_reason: null,
      last_delivery_status: null,
      last_delivery_at: null,
      created_at: "2030-01-01T00:00:00.000000Z",
      updated_at: "2030-01-01T00:00:00.000000Z",
      // As the function stores and returns it: encrypted (the answer shows it decrypted).
      secret: await testKeyring.encrypt(`whsec_${"A".repeat(43)}=`),
    },
  },
  writes: true,
  crossOrg: () => [],
  property: {
    // The published limit (at most 10 event types), written out on purpose: see maxItems.
    maxItems: { events: 10 },
    // The endpoint is the key's org's, stored with the secret the answer showed, encrypted.
    async check200({ target, tenant }, json) {
      const { webhook } = (json as { data: { webhook: { id: string; secret: string } } }).data;
      const stored = await storedEndpoint(target.owner, webhook.id);
      assert.equal(stored?.org_id, tenant.orgId);
      await assertStoredSecret(stored?.secret, webhook.secret);
    },
    // The suite sends one valid body many times: what it made goes, so its URL is free again.
    async restore({ target, tenants }) {
      await target.owner(
        "delete from public.webhook_endpoints where org_id = any ($1::uuid[]) and url like $2",
        [tenants.map((t) => t.orgId), `${NEW_URL}/%`],
      );
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
      await assertStoredSecret(stored?.secret, webhook.secret);
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

    await t.step(
      "the URL as the WHATWG parser writes it is checked, stored and shown",
      async () => {
        const forms: [string, string][] = [
          ["HTTPS://Hooks.Example.com/Upper", "https://hooks.example.com/Upper"],
          [" https://hooks.example.com/leading-space", "https://hooks.example.com/leading-space"],
          ["https:hooks.example.com", "https://hooks.example.com/"],
          ["https:\\\\hooks.example.com\\back", "https://hooks.example.com/back"],
          ["https://hooks.example.com:443/default-port", "https://hooks.example.com/default-port"],
          ["https://hooks.example.com/a b", "https://hooks.example.com/a%20b"],
        ];
        for (const [url, shown] of forms) {
          const res = await create({ url, events: BOTH });
          assert.equal(res.status, 201, `${JSON.stringify(url)}: ${res.text}`);
          assert.equal(res.json.data.webhook.url, shown);
          assert.equal((await storedEndpoint(target.owner, res.json.data.webhook.id))?.url, shown);
        }
      },
    );

    await t.step("400 invalid_url for what the table would refuse, before any write", async () => {
      // Under 2,048 characters as sent, over it as stored (each space becomes %20).
      const spaces = `https://hooks.example.com/${" ".repeat(1000)}x`;
      const before = await databaseDigest(target.owner);
      const res = await create({ url: spaces, events: BOTH });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json.error.code, "invalid_url");
      assert.equal(await databaseDigest(target.owner), before, "nothing written");
    });

    await t.step("a trailing dot does not make a local name public", async () => {
      for (const url of ["https://localhost./x", "https://foo.internal./x", "https://a.local./x"]) {
        const res = await create({ url, events: BOTH });
        assert.equal(res.status, 400, `${url}: ${res.text}`);
        assert.match(res.json.error.message, /local name/);
      }
    });

    await t.step("no resolver, or one that does not answer in time: names refused", async () => {
      const none = build({ webhooks: { urlPolicy: { resolve: null }, fetch: refusingFetch } });
      const slow = build({
        webhooks: {
          urlPolicy: { resolve: () => new Promise(() => {}), resolveTimeoutMs: 50 },
          fetch: refusingFetch,
        },
      });
      for (
        const [app, why] of [[none.app, /cannot be resolved/], [slow.app, /could not/]] as const
      ) {
        const res = await send(app, "POST", path, {
          body: { url: "https://hooks.example.com/unchecked", events: BOTH },
          key: a.keys.only["webhooks:write"],
        });
        assert.equal(res.status, 400, res.text);
        assert.equal(res.json.error.code, "invalid_url");
        assert.match(res.json.error.message, why);
      }
      // A literal public address needs no lookup.
      const literal = await send(none.app, "POST", path, {
        body: { url: `https://${PUBLIC_TEST_ADDRESS}/literal`, events: BOTH },
        key: a.keys.only["webhooks:write"],
      });
      assert.equal(literal.status, 201, literal.text);
    });

    await t.step("a name is looked up only for a key past its checksum and the cache", async () => {
      const org = await createTenant(target.owner, { perMinute: 0 });
      const body = { url: "https://hooks.example.com/order", events: BOTH };
      dns.asked.length = 0;
      const key = org.keys.all;
      const typo = `${key.slice(0, -1)}${key.endsWith("A") ? "B" : "A"}`;
      const badChecksum = await create(body, typo);
      assert.equal(badChecksum.status, 401, badChecksum.text);
      assert.deepEqual(dns.asked, [], "a key with a bad checksum: no lookup");
      // The org's minute limit is 0: the first call is refused by the database, and remembered.
      const first = await create(body, key);
      assert.equal(first.status, 429, first.text);
      const asked = dns.asked.length;
      const cached = await create(body, key);
      assert.equal(cached.status, 429, cached.text);
      assert.equal(dns.asked.length, asked, "the cached refusal came before any lookup");
    });

    await t.step("409 webhook_url_taken: one endpoint per URL in an org", async () => {
      const url = "https://hooks.example.com/once";
      const first = await create({ url, events: BOTH });
      assert.equal(first.status, 201, first.text);
      const before = await databaseDigest(target.owner);
      for (const again of [url, "HTTPS://HOOKS.example.com/once", ` ${url}`]) {
        const res = await create({ url: again, events: ["company.contacts_linked"] });
        assert.equal(res.status, 409, `${again}: ${res.text}`);
        assert.equal(res.json.error.code, "webhook_url_taken");
      }
      assert.equal(await databaseDigest(target.owner), before, "nothing written");
      // Another org may use it; and once deleted, the URL is free again.
      const other = await createTenant(target.owner);
      assert.equal((await create({ url, events: BOTH }, other.keys.all)).status, 201);
      const gone = await send(
        app,
        "DELETE",
        `/api-gateway/v1/webhooks/${first.json.data.webhook.id}`,
        {
          key: a.keys.only["webhooks:write"],
        },
      );
      assert.equal(gone.status, 204, gone.text);
      assert.equal((await create({ url, events: BOTH })).status, 201);
    });

    await t.step(
      "409 webhook_url_taken from the unique index too (written past the check)",
      async () => {
        // A row written by hand beside the function's check: the index answers, as an outcome.
        const url = "https://hooks.example.com/raced";
        await target.owner(
          `create or replace function public.test_hide_taken() returns trigger language plpgsql
         set search_path = '' as $f$ begin
           if new.url = '${url}' and not exists (select 1 from public.webhook_endpoints e
              where e.url = new.url and e.org_id = new.org_id) then
             insert into public.webhook_endpoints (org_id, url, events, secret)
             values (new.org_id, new.url, new.events, new.secret);
           end if;
           return new;
         end $f$`,
          [],
        );
        await target.owner(
          `create trigger test_hide_taken before insert on public.webhook_endpoints
         for each row when (pg_trigger_depth() = 0) execute function public.test_hide_taken()`,
          [],
        );
        try {
          const res = await create({ url, events: BOTH });
          assert.equal(res.status, 409, res.text);
          assert.equal(res.json.error.code, "webhook_url_taken");
        } finally {
          await target.owner("drop trigger test_hide_taken on public.webhook_endpoints", []);
          await target.owner("drop function public.test_hide_taken()", []);
        }
      },
    );

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
