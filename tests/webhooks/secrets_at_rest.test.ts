// Webhook signing secrets at rest (webhooks/secret_keys.ts): the table holds ciphertexts only; the
// dispatcher decrypts them to sign, and receivers verifying with `standardwebhooks` (the examples'
// library) accept what it sends, before and after the encryption key is rotated and every secret
// re-encrypted (local/webhook_secrets.ts), legacy plaintext rows included. A gateway without the
// key fails loudly at its first webhook operation and writes nothing; the rest keeps working.
import assert from "node:assert/strict";
import { reencryptWebhookSecrets } from "../../local/webhook_secrets.ts";
import {
  newKeyEntry,
  parseKeyring,
  SecretsKeyError,
} from "../../supabase/functions/api-gateway/webhooks/secret_keys.ts";
import { newWebhookSecret } from "../../supabase/functions/api-gateway/webhooks/secret.ts";
import { dispatchDue } from "../../supabase/functions/api-gateway/webhooks/dispatch.ts";
import { assertNoSecrets, buildApp } from "../harness/app.ts";
import {
  LOCAL_POLICY,
  loopbackFetch,
  subscribedOrg,
  testDispatcher,
} from "../harness/dispatching.ts";
import { databaseDigest } from "../harness/fixtures.ts";
import { send } from "../harness/http.ts";
import { TEST_SECRETS_KEYS, testKeyring } from "../harness/secrets.ts";
import { getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";
import { assertStoredSecret, storedEndpoint } from "../harness/webhooks.ts";

const DISPATCH_PATH = "/api-gateway/internal/dispatch-webhooks";
const DISPATCH_SECRET = "dispatch-secret-0123456789-abcdefghijklmnop";

Deno.test("secret keys: the stored form, tampering, unknown and malformed keys", async (t) => {
  const secret = newWebhookSecret();
  const stored = await testKeyring.encrypt(secret);

  await t.step("whenc_v1.<kid>.<base64url>, a fresh IV each time, decrypts back", async () => {
    assert.match(stored, /^whenc_v1\.test-1\.[A-Za-z0-9_-]{104}$/);
    assert.notEqual(await testKeyring.encrypt(secret), stored, "a fresh IV each time");
    assert.equal(await testKeyring.decrypt(stored), secret);
    assert.ok(!stored.includes(secret.slice(6, 16)));
  });

  await t.step(
    "an altered ciphertext, or one relabelled with another key id: refused",
    async () => {
      const body = stored.split(".")[2];
      const flipped = `${body.slice(0, 30)}${body[30] === "A" ? "B" : "A"}${body.slice(31)}`;
      await assert.rejects(testKeyring.decrypt(`whenc_v1.test-1.${flipped}`), SecretsKeyError);
      // The key id is authenticated: the same bytes under another id (the same key) do not open.
      const twin = await parseKeyring(
        `${TEST_SECRETS_KEYS},other:${TEST_SECRETS_KEYS.split(":")[1]}`,
      );
      await assert.rejects(
        twin.decrypt(`whenc_v1.other.${body}`),
        /does not decrypt under key id other/,
      );
    },
  );

  await t.step("a key id the ring lacks is named; no key value in any message", async () => {
    const other = await parseKeyring(newKeyEntry("k2"));
    await assert.rejects(other.decrypt(stored), /key id test-1, which WEBHOOK_SECRETS_KEYS/);
    const value = "k1:c2hvcnQ=";
    for (const bad of [undefined, "", " ", "k1", "k1:c2hvcnQ=", "bad id!:x", `${value},${value}`]) {
      const err = await parseKeyring(bad).then(() => null, (e) => e as Error);
      assert.ok(err instanceof SecretsKeyError, `${bad} refused`);
      assert.match(err.message, /WEBHOOK_SECRETS_KEYS/);
      assert.ok(!err.message.includes("c2hvcnQ"), "the value is never quoted");
    }
  });

  await t.step("rotation: the first entry encrypts, every entry decrypts", async () => {
    const rotated = await parseKeyring(`${newKeyEntry("test-2")},${TEST_SECRETS_KEYS}`);
    assert.equal(rotated.currentKid, "test-2");
    assert.equal(await rotated.decrypt(stored), secret);
    assert.match(await rotated.encrypt(secret), /^whenc_v1\.test-2\./);
    assert.ok(!rotated.isCurrent(stored) && testKeyring.isCurrent(stored));
  });
});

for (const kind of TARGET_KINDS) {
  Deno.test(
    {
      name: `webhooks: secrets encrypted at rest, key rotation [${kind}]`,
      ...targetTestOptions(kind),
    },
    async (t) => {
      const target = await getTarget(kind);
      const { db, owner } = target;
      const dispatcher = testDispatcher(db);
      const key2 = newKeyEntry("test-2");
      try {
        await t.step("created and rotated over the API: stored encrypted, signing", async () => {
          const s = await subscribedOrg(db, owner);
          try {
            const stored = await storedEndpoint(owner, s.webhookId);
            await assertStoredSecret(stored?.secret, s.secrets[0]);
            const { app } = buildApp(db);
            const rotated = await send(
              app,
              "POST",
              `/api-gateway/v1/webhooks/${s.webhookId}/rotate-secret`,
              { key: s.org.keys.only["webhooks:write"] },
            );
            assert.equal(rotated.status, 200, rotated.text);
            s.secrets.unshift(rotated.json.data.webhook.secret);
            const after = await storedEndpoint(owner, s.webhookId);
            await assertStoredSecret(after?.secret, s.secrets[0]);
            await assertStoredSecret(after?.previous_secret, s.secrets[1]);

            await s.link(0, [1]);
            assert.deepEqual(await dispatcher.round(), { claimed: 1, succeeded: 1, failed: 0 });
            assert.deepEqual(s.receiver.received.at(-1)?.verifiedBy, s.secrets);
          } finally {
            await s.close();
          }
        });

        await t.step(
          "the key rotated, every secret re-encrypted (legacy plaintext too): still verified",
          async () => {
            const s = await subscribedOrg(db, owner);
            const legacy = await subscribedOrg(db, owner);
            try {
              // A database deployed before the secrets were encrypted: rows in the clear under
              // NOT VALID constraints, as the migration leaves such a database.
              legacy.secrets[0] = newWebhookSecret();
              await makeLegacy(owner, legacy.webhookId, legacy.secrets[0]);

              const newKeys = `${key2},${TEST_SECRETS_KEYS}`;
              const rotated = await parseKeyring(newKeys);
              const report = await reencryptWebhookSecrets(owner, rotated);
              assert.ok(report.reencrypted >= 2 && report.plaintext === 1, JSON.stringify(report));
              assert.equal(report.validated, true);
              assert.equal(
                await invalidConstraints(owner),
                0,
                "the constraints hold for every row",
              );
              const left = await owner<{ n: number }>(
                `select count(*)::int as n from public.webhook_endpoints
                 where secret not like 'whenc_v1.test-2.%' or previous_secret not like 'whenc_v1.test-2.%'`,
                [],
              );
              assert.equal(left[0].n, 0, "every secret under the new key");
              for (
                const [org, secret] of [[s, s.secrets[0]], [legacy, legacy.secrets[0]]] as const
              ) {
                const row = await storedEndpoint(owner, org.webhookId);
                assert.match(row!.secret, /^whenc_v1\.test-2\./);
                assert.equal(await rotated.decrypt(row!.secret), secret);
              }
              const again = await reencryptWebhookSecrets(owner, rotated);
              assert.equal(again.reencrypted, 0, "idempotent: nothing left to do");

              // The new key alone now opens every secret: the old one can go.
              const newOnly = await parseKeyring(newKeys.split(",")[0]);
              await s.link(0, [3]);
              await legacy.link(0, [3]);
              const round = await dispatcher.round({
                secretKeyring: () => Promise.resolve(newOnly),
              });
              assert.deepEqual(round, { claimed: 2, succeeded: 2, failed: 0 });
              assert.deepEqual(s.receiver.received.at(-1)?.verifiedBy, s.secrets);
              assert.deepEqual(legacy.receiver.received.at(-1)?.verifiedBy, legacy.secrets);

              // A gateway on the new keys encrypts under the new key.
              const { app } = buildApp(db, {
                webhooks: { urlPolicy: LOCAL_POLICY, secretsKeys: newKeys },
              });
              const res = await send(
                app,
                "POST",
                `/api-gateway/v1/webhooks/${s.webhookId}/rotate-secret`,
                { key: s.org.keys.only["webhooks:write"] },
              );
              assert.equal(res.status, 200, res.text);
              const row = await storedEndpoint(owner, s.webhookId);
              assert.match(row!.secret, /^whenc_v1\.test-2\./);
              assert.equal(await newOnly.decrypt(row!.secret), res.json.data.webhook.secret);
            } finally {
              await s.close();
              await legacy.close();
            }
          },
        );

        await t.step("a re-encryption never undoes a rotation that lands during it", async () => {
          const s = await subscribedOrg(db, owner);
          try {
            const ring = await parseKeyring(
              `${newKeyEntry("test-3")},${key2},${TEST_SECRETS_KEYS}`,
            );
            // The endpoint's secret is rotated between the re-encryption's read of the row and
            // its write: the write finds the row changed, reads it again, and re-encrypts the
            // rotated secret.
            const rotatedTo = newWebhookSecret();
            let raced = false;
            const racing: typeof owner = async (text, params) => {
              if (!raced && text.trimStart().startsWith("update") && params[0] === s.webhookId) {
                raced = true;
                await owner("update public.webhook_endpoints set secret = $1 where id = $2", [
                  await testKeyring.encrypt(rotatedTo),
                  s.webhookId,
                ]);
              }
              return await owner(text, params);
            };
            await reencryptWebhookSecrets(racing, ring);
            assert.ok(raced);
            const row = await storedEndpoint(owner, s.webhookId);
            assert.match(row!.secret, /^whenc_v1\.test-3\./);
            assert.equal(await ring.decrypt(row!.secret), rotatedTo, "the rotation stands");
          } finally {
            await s.close();
          }
        });

        await t.step(
          "without the key: create, rotate and dispatch fail loudly, nothing written",
          async () => {
            const s = await subscribedOrg(db, owner);
            try {
              await s.link(0, [4]);
              const { app, logs } = buildApp(db, {
                webhooks: {
                  urlPolicy: LOCAL_POLICY,
                  fetch: loopbackFetch().fetch,
                  dispatchSecret: DISPATCH_SECRET,
                  secretsKeys: undefined,
                },
              });
              const key = s.org.keys.only["webhooks:write"];
              const before = await databaseDigest(owner);
              const created = await send(app, "POST", "/api-gateway/v1/webhooks", {
                key,
                body: { url: s.receiver.url, events: ["company.contacts_linked"] },
              });
              const rotated = await send(
                app,
                "POST",
                `/api-gateway/v1/webhooks/${s.webhookId}/rotate-secret`,
                { key },
              );
              const dispatched = await send(app, "POST", DISPATCH_PATH, { key: DISPATCH_SECRET });
              for (const res of [created, rotated, dispatched]) {
                assert.equal(res.status, 500, res.text);
                assert.equal(res.json.error.code, "internal_error");
                assert.doesNotMatch(res.text, /whsec_|whenc_/);
              }
              assert.equal(await databaseDigest(owner), before, "nothing written, nothing claimed");
              assert.equal(s.receiver.received.length, 0);
              const said = logs.filter((l) => l.includes("WEBHOOK_SECRETS_KEYS is not set"));
              assert.equal(said.length, 3, `one line naming the variable per failure:\n${logs}`);
              assert.ok(logs.some((l) => l.includes('"WebhookSecretsKeyError"')));

              // The rest works: the list of endpoints, a link.
              const list = await send(app, "GET", "/api-gateway/v1/webhooks", {
                key: s.org.keys.only["webhooks:read"],
              });
              assert.equal(list.status, 200, list.text);
              const linked = await send(
                app,
                "POST",
                `/api-gateway/v1/companies/${s.org.companyIds[1]}/contacts/link`,
                {
                  key: s.org.keys.only["contacts:write"],
                  body: { contact_ids: [s.org.contactIds[4]] },
                },
              );
              assert.equal(linked.status, 200, linked.text);

              // A malformed key: as loud, and its value never said.
              const bad = buildApp(db, {
                webhooks: { urlPolicy: LOCAL_POLICY, secretsKeys: "k1:bm90IDMyIGJ5dGVz" },
              });
              const res = await send(
                bad.app,
                "POST",
                `/api-gateway/v1/webhooks/${s.webhookId}/rotate-secret`,
                {
                  key,
                },
              );
              assert.equal(res.status, 500);
              assert.ok(bad.logs.some((l) => /WEBHOOK_SECRETS_KEYS, entry 1 \(k1\)/.test(l)));
              assertNoSecrets([res.text, ...bad.logs], ["bm90IDMyIGJ5dGVz"]);
            } finally {
              await s.close();
            }
          },
        );

        await t.step(
          "a secret under a key the gateway lacks: not sent, the others go on, the key id logged",
          async () => {
            const s = await subscribedOrg(db, owner);
            try {
              await s.link(0, [6]);
              const { app, logs } = buildApp(db, {
                webhooks: {
                  urlPolicy: LOCAL_POLICY,
                  fetch: loopbackFetch().fetch,
                  dispatchSecret: DISPATCH_SECRET,
                  secretsKeys: newKeyEntry("other"),
                },
              });
              const res = await send(app, "POST", DISPATCH_PATH, { key: DISPATCH_SECRET });
              // One delivery that cannot be signed never ends the call (issue 21): it is logged,
              // and its next attempt was moved on when it was claimed.
              assert.equal(res.status, 200, res.text);
              assert.equal(JSON.parse(res.text).data.failed, 1, res.text);
              assert.ok(
                logs.some((l) =>
                  l.includes("key id test-1, which WEBHOOK_SECRETS_KEYS does not hold")
                ),
                logs.join("\n"),
              );
              assert.equal(s.receiver.received.length, 0, "nothing sent with a wrong signature");
              const [{ n }] = await owner<{ n: number }>(
                "select count(*)::int as n from public.webhook_attempts where org_id = $1",
                [s.org.orgId],
              );
              assert.equal(n, 0, "no attempt recorded: it goes again once the key is back");
            } finally {
              await s.close();
            }
          },
        );

        await t.step("a dispatcher without the key claims nothing", async () => {
          const s = await subscribedOrg(db, owner);
          try {
            await s.link(0, [5]);
            const missing = () => parseKeyring(undefined);
            await assert.rejects(
              dispatchDue({ db, urlPolicy: LOCAL_POLICY, secretKeyring: missing }),
              SecretsKeyError,
            );
            const [{ n }] = await owner<{ n: number }>(
              "select count(*)::int as n from public.webhook_deliveries where org_id = $1 and attempts > 0",
              [s.org.orgId],
            );
            assert.equal(n, 0, "no attempt spent");
          } finally {
            await s.close();
          }
        });

        dispatcher.assertLoopbackOnly();
      } finally {
        await target.close();
      }
    },
  );
}

/** Puts `secret` in the clear in the endpoint's row, as a database deployed before the secrets
 * were encrypted holds it once the migration has run: the constraints dropped for the write, then
 * added back NOT VALID, with the migration's own definitions. */
async function makeLegacy(
  owner: Awaited<ReturnType<typeof getTarget>>["owner"],
  id: string,
  secret: string,
) {
  const defs = await owner<{ conname: string; def: string }>(
    `select conname, pg_get_constraintdef(oid) as def from pg_catalog.pg_constraint
     where conrelid = 'public.webhook_endpoints'::regclass
       and conname in ('webhook_endpoints_secret_check', 'webhook_endpoints_previous_secret_check')`,
    [],
  );
  assert.equal(defs.length, 2);
  for (const { conname } of defs) {
    await owner(`alter table public.webhook_endpoints drop constraint ${conname}`, []);
  }
  await owner("update public.webhook_endpoints set secret = $1 where id = $2", [secret, id]);
  for (const { conname, def } of defs) {
    await owner(
      `alter table public.webhook_endpoints add constraint ${conname} ${def} not valid`,
      [],
    );
  }
  assert.equal(await invalidConstraints(owner), 2);
}

async function invalidConstraints(owner: Awaited<ReturnType<typeof getTarget>>["owner"]) {
  const [{ n }] = await owner<{ n: number }>(
    `select count(*)::int as n from pg_catalog.pg_constraint
     where conrelid = 'public.webhook_endpoints'::regclass and not convalidated
       and conname in ('webhook_endpoints_secret_check', 'webhook_endpoints_previous_secret_check')`,
    [],
  );
  return n;
}
