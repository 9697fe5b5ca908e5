// `deno task secrets`: `reencrypt` moves every stored webhook secret under the first key of
// WEBHOOK_SECRETS_KEYS, against DATABASE_URL, as an operator runs it after a key rotation
// (docs/deploying.md); `new-key` prints an entry for that variable. Refusals are one line.
import assert from "node:assert/strict";
import {
  newKeyEntry,
  parseKeyring,
} from "../../supabase/functions/api-gateway/webhooks/secret_keys.ts";
import { buildApp } from "../harness/app.ts";
import { runTask } from "../harness/dev_server.ts";
import { createTenant } from "../harness/fixtures.ts";
import { send } from "../harness/http.ts";
import { TEST_SECRETS_KEYS } from "../harness/secrets.ts";
import { getTarget, targetTestOptions } from "../harness/targets.ts";
import { storedEndpoint } from "../harness/webhooks.ts";

const secrets = (args: string[], env: Record<string, string> = {}) =>
  runTask("secrets", args, { WEBHOOK_SECRETS_KEYS: "", ...env });

function assertRefused(r: { code: number; stdout: string; stderr: string }, reason: RegExp) {
  assert.notEqual(r.code, 0, `exit code: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], reason);
}

Deno.test("secrets new-key: an entry for WEBHOOK_SECRETS_KEYS; a bad id refused", async () => {
  const r = await secrets(["new-key", "2026-12"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^2026-12:[A-Za-z0-9+/]{43}=\n$/);
  assert.equal((await parseKeyring(r.stdout)).currentKid, "2026-12");
  assertRefused(await secrets(["new-key", "no spaces"]), /^secrets: Key id "no spaces"/);
  assertRefused(await secrets(["rotate"]), /cannot understand: rotate.*--help/);
});

Deno.test(
  {
    name: "secrets reencrypt: every secret under the new key, once [postgres]",
    ...targetTestOptions("postgres"),
  },
  async () => {
    const target = await getTarget("postgres");
    try {
      const tenant = await createTenant(target.owner);
      const { app } = buildApp(target.db);
      const created = await send(app, "POST", "/api-gateway/v1/webhooks", {
        key: tenant.keys.only["webhooks:write"],
        body: { url: "https://hooks.example.com/cli", events: ["company.contacts_linked"] },
      });
      assert.equal(created.status, 201, created.text);
      const { id, secret } = created.json.data.webhook;
      const db = { DATABASE_URL: target.url! };
      const before = await storedEndpoint(target.owner, id);

      assertRefused(await secrets(["reencrypt"], db), /WEBHOOK_SECRETS_KEYS is not set/);
      const next = newKeyEntry("k2");
      assertRefused(
        await secrets(["reencrypt"], { ...db, WEBHOOK_SECRETS_KEYS: next }),
        /key id test-1, which WEBHOOK_SECRETS_KEYS does not hold/,
      );
      assertRefused(
        await secrets(["reencrypt"], { WEBHOOK_SECRETS_KEYS: next }),
        /no database: set DATABASE_URL/,
      );
      assert.equal((await storedEndpoint(target.owner, id))?.secret, before?.secret, "unchanged");

      const keys = `${next},${TEST_SECRETS_KEYS}`;
      const r = await secrets(["reencrypt"], { ...db, WEBHOOK_SECRETS_KEYS: keys });
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /^re-encrypted the secrets of \d+ of \d+ webhook endpoints under key k2 \(0 were in the clear; 0 were under it already\)/,
      );
      const after = await storedEndpoint(target.owner, id);
      assert.match(after!.secret, /^whenc_v1\.k2\./);
      assert.equal(await (await parseKeyring(next)).decrypt(after!.secret), secret);
      assert.ok(!r.stdout.includes(secret) && !r.stdout.includes(next.split(":")[1]));

      const again = await secrets(["reencrypt"], { ...db, WEBHOOK_SECRETS_KEYS: keys });
      assert.equal(again.code, 0, again.stderr);
      assert.match(
        again.stdout,
        /^re-encrypted the secrets of 0 of (\d+) webhook endpoints .* \1 were under it already/,
      );
    } finally {
      await target.close();
    }
  },
);
