// A dump holds no working credential (issue 23): after a run that mints and rotates API keys (with
// the keys CLI's functions, and over the API under an Idempotency-Key, whose stored answers hold
// the keys) and creates webhook endpoints and rotates a secret over the API, a
// `pg_dump` of the database (schema and data, as a backup holds it) contains none of the
// plaintexts the answers showed. API keys are kept as SHA-256 hashes; webhook secrets encrypted
// under a key the database does not hold (docs/architecture.md, "Credentials").
//
// Every plaintext an answer shows goes through `shown(...)`: a new way to get a credential is one
// more line here.
import assert from "node:assert/strict";
import { issueKey, rotateKey } from "../../local/api_keys.ts";
import { PG_BIN } from "../../local/postgres_server.ts";
import { hashApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";
import { allKeys, createTenant } from "../harness/fixtures.ts";
import { buildApp } from "../harness/app.ts";
import { send } from "../harness/http.ts";
import { getTarget, targetTestOptions } from "../harness/targets.ts";
import { storedEndpoint } from "../harness/webhooks.ts";

const BOTH = ["company.contacts_linked", "company.contacts_unlinked"];

Deno.test(
  {
    name: "a pg_dump holds no plaintext key or webhook secret [postgres]",
    ...targetTestOptions("postgres"),
  },
  async () => {
    const target = await getTarget("postgres");
    const { owner } = target;
    const plaintexts: { what: string; value: string }[] = [];
    const shown = (what: string, value: string) => {
      assert.ok(typeof value === "string" && value.length >= 20, `${what}: ${value}`);
      plaintexts.push({ what, value });
    };
    try {
      const tenant = await createTenant(owner);
      for (const key of allKeys(tenant)) shown("a fixture's API key", key);
      const { app } = buildApp(target.db);

      // API keys: minted and rotated as the keys CLI does.
      const minted = await issueKey(owner, {
        orgId: tenant.orgId,
        name: "dump test",
        permissions: ["contacts:read", "webhooks:write"],
      });
      shown("an API key minted by the keys CLI", minted.plaintext);
      const rotated = await rotateKey(owner, minted.id, { graceSeconds: 3600 });
      shown("the successor of a rotated API key", rotated.created.plaintext);

      // API keys over the API: created under an Idempotency-Key (and retried, so the stored answer
      // holds the key), and rotated under one.
      const admin = tenant.keys.all;
      const retried = { "idempotency-key": crypto.randomUUID() };
      const createBody = { name: "dump test, over the API", permissions: ["contacts:read"] };
      for (const attempt of [1, 2]) {
        const made = await send(app, "POST", "/api-gateway/v1/api-keys", {
          key: admin,
          body: createBody,
          headers: retried,
        });
        assert.equal(made.status, 201, made.text);
        if (attempt === 2) assert.equal(made.headers.get("idempotent-replayed"), "true");
        shown("an API key created over the API, with an Idempotency-Key", made.json.data.key);
      }
      const created = (await send(app, "GET", "/api-gateway/v1/api-keys?search=over%20the%20API", {
        key: admin,
      })).json.data[0];
      const successor = await send(app, "POST", `/api-gateway/v1/api-keys/${created.id}/rotate`, {
        key: admin,
        body: { grace_seconds: 60 },
        headers: { "idempotency-key": crypto.randomUUID() },
      });
      assert.equal(successor.status, 201, successor.text);
      shown("the successor of an API key rotated over the API", successor.json.data.key);

      // Webhook endpoints created over the API (the first under an Idempotency-Key, so its answer
      // with the secret is stored), and one's secret rotated.
      const webhookIds: string[] = [];
      for (const n of [1, 2]) {
        const res = await send(app, "POST", "/api-gateway/v1/webhooks", {
          key: minted.plaintext,
          body: { url: `https://hooks.example.com/dump/${n}`, events: BOTH },
          headers: n === 1 ? { "idempotency-key": crypto.randomUUID() } : {},
        });
        assert.equal(res.status, 201, res.text);
        shown("a new webhook endpoint's secret", res.json.data.webhook.secret);
        webhookIds.push(res.json.data.webhook.id);
      }
      const res = await send(
        app,
        "POST",
        `/api-gateway/v1/webhooks/${webhookIds[0]}/rotate-secret`,
        {
          key: minted.plaintext,
        },
      );
      assert.equal(res.status, 200, res.text);
      shown("a rotated webhook secret", res.json.data.webhook.secret);

      const dump = await pgDump(target.url!);
      // The dump is of this data: the stored forms are in it.
      const stored = await storedEndpoint(owner, webhookIds[0]);
      assert.ok(dump.includes(stored!.secret) && dump.includes(stored!.previous_secret!));
      assert.ok(dump.includes(await hashApiKey(minted.plaintext)));

      for (const { what, value } of plaintexts) {
        // The whole plaintext, and its secret part alone (after whsec_, or past the key's prefix).
        const parts = [value, value.startsWith("whsec_") ? value.slice(6) : value.slice(-24)];
        for (const part of parts) {
          assert.ok(!dump.includes(part), `${what} is in the dump (${value.slice(0, 10)}...)`);
        }
      }
      console.log(`  pg_dump: ${dump.length} characters, none of ${plaintexts.length} plaintexts`);
    } finally {
      await target.close();
    }
  },
);

async function pgDump(url: string): Promise<string> {
  const out = await new Deno.Command(`${PG_BIN}/pg_dump`, {
    args: ["--dbname", url, "--no-password"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`pg_dump failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}
