/**
 * The docs' webhook receivers (examples/webhook_receiver.ts and .py), run as a reader runs them:
 * each gets a real delivery from the gateway's dispatcher, then requests signed by the
 * `standardwebhooks` reference library: a retry (handled once), a tampered body, an old timestamp,
 * and a rotation's two signatures of which only one is theirs. The secret they are given is the
 * one the API's answer showed, stored encrypted; a second delivery follows a rotation of the
 * encryption key and the re-encryption of every stored secret (docs/deploying.md).
 */
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { freePort } from "../../local/net.ts";
import { reencryptWebhookSecrets } from "../../local/webhook_secrets.ts";
import { newWebhookSecret } from "../../supabase/functions/api-gateway/webhooks/secret.ts";
import {
  newKeyEntry,
  parseKeyring,
} from "../../supabase/functions/api-gateway/webhooks/secret_keys.ts";
import { TEST_SECRETS_KEYS } from "../harness/secrets.ts";
import { subscribedOrg, testDispatcher } from "../harness/dispatching.ts";
import { explained } from "../harness/server_output.ts";
import { getTarget } from "../harness/targets.ts";

const REPO = new URL("../../", import.meta.url).pathname;

/** 127.0.0.1, ::1 and ::ffff:127.0.0.1 as /proc/net/tcp{,6} write them. */
const LOOPBACK = new Set([
  "0100007F",
  "00000000000000000000000001000000",
  "0000000000000000FFFF00000100007F",
]);

/** The local addresses of the sockets listening on `port` (Linux's /proc/net), null elsewhere. */
function listeningOn(port: number): string[] | null {
  if (Deno.build.os !== "linux") return null;
  const found: string[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let table: string;
    try {
      table = Deno.readTextFileSync(file);
    } catch {
      continue;
    }
    for (const line of table.trim().split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      const [address, hexPort] = local.split(":");
      if (state === "0A" && parseInt(hexPort, 16) === port) found.push(address); // 0A: LISTEN
    }
  }
  return found;
}

function hasPython(): boolean {
  try {
    return new Deno.Command("python3", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    console.error("\n!!! The Python webhook receiver is IGNORED: no python3 on PATH. !!!\n");
    return false;
  }
}

const RECEIVERS = [
  {
    name: "Deno (standardwebhooks)",
    argv: [Deno.execPath(), "run", "--allow-env", "--allow-net", "examples/webhook_receiver.ts"],
    ignore: false,
  },
  {
    name: "Python (standard library)",
    argv: ["python3", "examples/webhook_receiver.py"],
    ignore: !hasPython(),
  },
];

for (const receiver of RECEIVERS) {
  Deno.test({
    name: `e2e: the docs' webhook receiver, ${receiver.name}`,
    ignore: receiver.ignore,
    sanitizeResources: false,
    sanitizeOps: false,
  }, async (t) => {
    const target = await getTarget("pglite");
    // An org whose endpoint is the receiver (its port), given the secret the API's answer showed:
    // the one the gateway stored encrypted.
    const port = freePort();
    const s = await subscribedOrg(target.db, target.owner);
    const [secret] = s.secrets;
    await target.owner(
      "update public.webhook_endpoints set url = $1 where id = $2",
      [`http://127.0.0.1:${port}/`, s.webhookId],
    );
    const child = new Deno.Command(receiver.argv[0], {
      args: receiver.argv.slice(1),
      cwd: REPO,
      env: { WEBHOOK_SECRET: secret, PORT: String(port), NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let printed = "";
    const reading = (async () => {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) printed += chunk;
    })();
    let errors = "";
    const readingErrors = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) errors += chunk;
    })();
    const shown = {
      output: () => `--- receiver stdout ---\n${printed}\n--- stderr ---\n${errors}`,
    };
    const post = (headers: Record<string, string>, body: string) =>
      fetch(`http://127.0.0.1:${port}/`, { method: "POST", headers, body })
        .then(async (res) => (await res.body?.cancel(), res.status));
    const signed = (id: string, body: string, at = new Date(), key = secret) => {
      const signature = new Webhook(key).sign(id, at, body);
      return {
        "content-type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
        "webhook-signature": signature,
      };
    };
    try {
      await explained([shown], async () => {
        for (let waited = 0;; waited += 100) {
          try {
            await post({}, "");
            break;
          } catch {
            if (waited > 60_000) throw new Error("the receiver never listened");
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        // As a reader starts it (no HOST): on loopback only, out of the network's reach.
        const addresses = listeningOn(port);
        if (addresses) {
          assert.ok(addresses.length > 0, `nothing listens on ${port}`);
          assert.deepEqual(
            addresses.filter((a) => !LOOPBACK.has(a)),
            [],
            "listens beyond loopback",
          );
        }

        await t.step("a real delivery from the dispatcher is verified and handled", async () => {
          await s.link(0, [1, 2]);
          const round = await testDispatcher(target.db).round();
          assert.deepEqual(round, { claimed: 1, succeeded: 1, failed: 0 });
          for (let i = 0; !printed.includes("\n") && i < 100; i++) {
            await new Promise((r) => setTimeout(r, 50));
          }
          assert.match(
            printed,
            /^company\.contacts_linked: 2 contact\(s\), company [0-9a-f-]{36}$/m,
          );
        });

        await t.step("after the encryption key is rotated and secrets re-encrypted", async () => {
          const entry = newKeyEntry("e2e-2");
          const ring = await parseKeyring(`${entry},${TEST_SECRETS_KEYS}`);
          const report = await reencryptWebhookSecrets(target.owner, ring);
          assert.ok(report.reencrypted >= 1, JSON.stringify(report));
          // Only the new key: every secret has moved to it.
          const newOnly = await parseKeyring(entry);
          await s.link(1, [1, 2]);
          const round = await testDispatcher(target.db).round({
            secretKeyring: () => Promise.resolve(newOnly),
          });
          assert.deepEqual(round, { claimed: 1, succeeded: 1, failed: 0 });
          for (let i = 0; printed.match(/contacts_linked/g)?.length !== 2 && i < 100; i++) {
            await new Promise((r) => setTimeout(r, 50));
          }
          assert.equal(printed.match(/^company\.contacts_linked: 2 contact/gm)?.length, 2);
        });

        const body = JSON.stringify({
          type: "company.contacts_unlinked",
          timestamp: new Date().toISOString(),
          data: { company_id: s.org.companyIds[0], contact_ids: [s.org.contactIds[1]], count: 1 },
        });
        await t.step("a retry of one event is handled once", async () => {
          const id = crypto.randomUUID();
          assert.equal(await post(signed(id, body), body), 204);
          assert.equal(await post(signed(id, body), body), 204);
          await new Promise((r) => setTimeout(r, 200));
          assert.equal(printed.match(/company\.contacts_unlinked/g)?.length, 1);
        });

        await t.step("a tampered body, an old timestamp, another secret: 400", async () => {
          const id = crypto.randomUUID();
          assert.equal(await post(signed(id, body), body.replace('"count":1', '"count":9')), 400);
          assert.equal(await post(signed(id, body, new Date(Date.now() - 600_000)), body), 400);
          assert.equal(await post(signed(id, body, new Date(), newWebhookSecret()), body), 400);
          assert.equal(await post({ "content-type": "application/json" }, body), 400);
        });

        await t.step("during a rotation: one of two signatures is enough", async () => {
          const id = crypto.randomUUID();
          const mine = signed(id, body);
          const other = signed(id, body, new Date(), newWebhookSecret());
          const both = `${other["webhook-signature"]} ${mine["webhook-signature"]}`;
          assert.equal(await post({ ...mine, "webhook-signature": both }, body), 204);
        });
      });
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await Promise.all([reading, readingErrors]);
      await s.close();
      await target.close();
    }
  });
}
