// The deployed entry point on the Deno line Supabase's edge runtime embeds (its 2026 releases
// build on deno_core 0.324, Deno 2.1): booted with the function's own deno.json and no lockfile,
// as `supabase functions deploy` bundles it (neither the Docker bundler nor --use-api reads the
// repository's deno.lock, a version 5 file Deno 2.1 refuses), it answers a keyless request, the
// OpenAPI document, and a link through the supabase adapter against the fake PostgREST.
// That Deno downloads the function's packages itself, trusting the system's certificate
// authorities (local/ca_trust.ts) whatever DENO_TLS_CA_STORE says here; a download that fails
// fails the test in that Deno's own words.
import assert from "node:assert/strict";
import { documentText } from "../../local/openapi/document.ts";
import { freePort } from "../../local/net.ts";
import { trustSystemCas } from "../../local/ca_trust.ts";
import { generateApiKey, hashApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";
import { json, startFakePostgrest } from "../harness/fake_postgrest.ts";
import { collectOutput } from "../resilience/support.ts";
import { explained } from "../harness/server_output.ts";

/** The pinned Deno of the edge runtime's line. */
export const EDGE_DENO = "deno@2.1.14";
const FUNCTION_DIR = new URL("../../supabase/functions/api-gateway/", import.meta.url).pathname;
const here = (file: string) => new URL(file, import.meta.url).pathname;
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

const npxSkip = new Deno.Command("sh", { args: ["-c", "command -v npx"], stdout: "null" })
    .outputSync().success
  ? null
  : "npx is not on PATH";
if (npxSkip) console.error(`\n!!! The Deno 2.1 boot test is IGNORED: ${npxSkip} !!!\n`);

/** That Deno's own binary, fetched by npx (whose failure says why). From / : Deno 2.1 would read
 * the repository's deno.lock and refuse it. */
async function edgeDenoBinary(): Promise<string> {
  const out = await new Deno.Command("npx", {
    args: ["--yes", EDGE_DENO, "eval", "console.log(Deno.execPath())"],
    cwd: "/",
    env: { ...trustSystemCas(), NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`npx --yes ${EDGE_DENO} failed (exit ${out.code}):\n${decode(out.stderr)}`);
  }
  return decode(out.stdout).trim();
}

/** Runs the function's module graph on that Deno (`args` before the module), trusting the
 * system's CAs; `env` adds to the environment. */
function edgeRun(deno: string, module: string, args: string[], env: Record<string, string>) {
  return new Deno.Command(deno, {
    args: ["run", "--no-lock", `--config=${FUNCTION_DIR}deno.json`, ...args, module],
    env: { ...trustSystemCas(), NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Fetches the function's packages (tests/contract/edge_deps.ts); throws with what that Deno
 * printed (its progress lines left out) when it cannot. */
export async function loadEdgeDeps(deno: string, env: Record<string, string> = {}) {
  const out = await edgeRun(deno, here("edge_deps.ts"), ["--allow-read", "--allow-env"], env)
    .output();
  if (out.success) return;
  const said = decode(out.stderr).split("\n").filter((l) => !l.startsWith("Download ")).join("\n");
  throw new Error(
    `${EDGE_DENO} could not load the function's packages (exit ${out.code}):\n${said}`,
  );
}

Deno.test({
  name: `edge runtime line: the deployed entry point boots and answers on ${EDGE_DENO}`,
  ignore: npxSkip !== null,
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const deno = await edgeDenoBinary();
  // The first run downloads the function's packages: here, where a failure says why.
  await loadEdgeDeps(deno);
  const fake = startFakePostgrest();
  const port = freePort();
  const child = edgeRun(
    deno,
    here("edge_boot.ts"),
    ["--allow-net", "--allow-env", "--allow-read"],
    {
      EDGE_BOOT_PORT: String(port),
      SUPABASE_URL: fake.url,
      SUPABASE_SERVICE_ROLE_KEY: "edge-boot-service-role-key",
    },
  ).spawn();
  const stdout = collectOutput(child.stdout);
  const stderr = collectOutput(child.stderr);
  const server = {
    output: () => `--- ${EDGE_DENO} stdout ---\n${stdout.text}\n--- stderr ---\n${stderr.text}`,
  };
  const base = `http://127.0.0.1:${port}/api-gateway`;
  const ask = (path: string, init?: RequestInit) => fetch(`${base}${path}`, init);
  try {
    await explained([server], async () => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        try {
          await (await ask("/v1/openapi.json")).body?.cancel();
          break;
        } catch {
          if (Date.now() > deadline) throw new Error(`${EDGE_DENO} never answered`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      const version = await new Deno.Command(deno, { args: ["--version"], stdout: "piped" })
        .output();
      assert.match(decode(version.stdout), /^deno 2\.1\./);
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
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await Promise.all([stdout.done, stderr.done]);
    await fake.close();
  }
});

Deno.test({
  name: `edge runtime line: a package ${EDGE_DENO} cannot fetch fails the test in its own words`,
  ignore: npxSkip !== null,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "gateway-edge-tls-" });
  // A registry on loopback whose certificate no store trusts: what a TLS-inspecting proxy is to a
  // Deno that does not read the store holding the proxy's authority.
  const made = await new Deno.Command("openssl", {
    args: [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...[
        "-days",
        "1",
        "-subj",
        "/CN=untrusted registry",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      ...["-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`],
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(made.success, decode(made.stderr));
  const registry = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
    onListen() {},
  }, () => new Response("{}", { status: 404 }));
  try {
    const deno = await edgeDenoBinary();
    const url = `https://127.0.0.1:${registry.addr.port}/`;
    await assert.rejects(
      // A cache of its own: nothing is there yet, every package is fetched.
      loadEdgeDeps(deno, { DENO_DIR: `${dir}/deno`, NPM_CONFIG_REGISTRY: url }),
      (err: Error) => {
        assert.match(err.message, /could not load the function's packages/);
        assert.match(err.message, /invalid peer certificate/, err.message);
        assert.ok(err.message.includes(url), err.message);
        return true;
      },
    );
  } finally {
    await registry.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
