// The deployed entry point on the Deno line Supabase's edge runtime embeds (its 2026 releases
// build on deno_core 0.324, Deno 2.1): booted with the function's own deno.json and no lockfile,
// as `supabase functions deploy` bundles it (neither the Docker bundler nor --use-api reads the
// repository's deno.lock, a version 5 file Deno 2.1 refuses), it answers a keyless request, the
// OpenAPI document, and a link through the supabase adapter against the fake PostgREST.
import assert from "node:assert/strict";
import { documentText } from "../../local/openapi/document.ts";
import { freePort } from "../../local/net.ts";
import { generateApiKey, hashApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";
import { json, startFakePostgrest } from "../harness/fake_postgrest.ts";
import { collectOutput } from "../resilience/support.ts";
import { explained } from "../harness/server_output.ts";

/** The pinned Deno of the edge runtime's line. */
export const EDGE_DENO = "deno@2.1.14";
const FUNCTION_DIR = new URL("../../supabase/functions/api-gateway/", import.meta.url).pathname;

const npxSkip = new Deno.Command("sh", { args: ["-c", "command -v npx"], stdout: "null" })
    .outputSync().success
  ? null
  : "npx is not on PATH";
if (npxSkip) console.error(`\n!!! The Deno 2.1 boot test is IGNORED: ${npxSkip} !!!\n`);

Deno.test({
  name: `edge runtime line: the deployed entry point boots and answers on ${EDGE_DENO}`,
  ignore: npxSkip !== null,
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const fake = startFakePostgrest();
  const port = freePort();
  const child = new Deno.Command("npx", {
    args: [
      "--yes",
      EDGE_DENO,
      "run",
      "--no-lock",
      `--config=${FUNCTION_DIR}deno.json`,
      "--allow-net",
      "--allow-env",
      "--allow-read",
      new URL("edge_boot.ts", import.meta.url).pathname,
    ],
    env: {
      EDGE_BOOT_PORT: String(port),
      SUPABASE_URL: fake.url,
      SUPABASE_SERVICE_ROLE_KEY: "edge-boot-service-role-key",
      NO_COLOR: "1",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // A group of its own: npx passes no signal on to the Deno it starts.
    detached: true,
  }).spawn();
  const stdout = collectOutput(child.stdout);
  const stderr = collectOutput(child.stderr);
  const server = {
    output: () => `--- ${EDGE_DENO} stdout ---\n${stdout.text}\n--- stderr ---\n${stderr.text}`,
  };
  const base = `http://127.0.0.1:${port}/api-gateway`;
  const ask = (path: string, init?: RequestInit) => fetch(`${base}${path}`, init);
  try {
    await explained([server], async () => {
      // The first start downloads that Deno and the function's packages.
      const deadline = Date.now() + 240_000;
      for (;;) {
        try {
          await (await ask("/v1/openapi.json")).body?.cancel();
          break;
        } catch {
          if (Date.now() > deadline) throw new Error(`${EDGE_DENO} never answered`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      const version = await new Deno.Command("npx", {
        args: ["--yes", EDGE_DENO, "--version"],
        stdout: "piped",
      }).output();
      assert.match(new TextDecoder().decode(version.stdout), /^deno 2\.1\./);
    });

    await t.step("a keyless request: 401 invalid_key, no database call", async () => {
      await explained([server], async () => {
        fake.reset();
        const res = await ask("/v1/companies/c0000000-0000-4000-8000-000000000001/contacts/link", {
          method: "POST",
        });
        assert.equal(res.status, 401);
        assert.equal((await res.json()).error.code, "invalid_key");
        assert.equal(fake.requests.length, 0);
      });
    });

    await t.step("the OpenAPI document, as generated", async () => {
      await explained([server], async () => {
        const res = await ask("/v1/openapi.json");
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), JSON.parse(documentText()));
      });
    });

    await t.step("a link through the supabase adapter: one RPC, its answer", async () => {
      await explained([server], async () => {
        fake.reset();
        const key = generateApiKey();
        const company = "c0000000-0000-4000-8000-000000000001";
        const contacts = ["a0000000-0000-4000-8000-000000000001"];
        const rateLimit = {
          minute: { limit: 50, remaining: 49, reset: 1_795_779_120, reset_in: 17 },
          day: { limit: 1000, remaining: 999, reset: 1_795_824_000, reset_in: 44_897 },
        };
        fake.replies.link_contacts_to_company = () =>
          json(200, {
            outcome: "ok",
            org_id: "0a000000-0000-4000-8000-000000000001",
            key_prefix: key.slice(0, 12),
            rate_limit: rateLimit,
            data: { updated: 1, failed: 0, failed_ids: [] },
          });
        const res = await ask(`/v1/companies/${company}/contacts/link`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify({ contact_ids: contacts }),
        });
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { data: { updated: 1, failed: 0, failed_ids: [] } });
        assert.equal(res.headers.get("ratelimit"), '"minute";r=49;t=17');
        assert.equal(fake.requests.length, 1);
        const [req] = fake.requests;
        assert.equal(req.path, "/rest/v1/rpc/link_contacts_to_company");
        assert.deepEqual(req.body, {
          p_company_id: company,
          p_contact_ids: contacts,
          p_key_hash: await hashApiKey(key),
        });
        assert.equal(req.headers["apikey"], "edge-boot-service-role-key");
      });
    });
  } finally {
    try {
      Deno.kill(-child.pid, "SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await Promise.all([stdout.done, stderr.done]);
    await fake.close();
  }
});
