/**
 * The client examples (examples/, linked from docs/using-the-api.md), run as a reader runs them, against `deno task dev`
 * on a clone of the run's migrated Postgres: configured by LEADLEX_API_URL and LEADLEX_API_KEY,
 * through a proxy that refuses each program's first request with 429 and Retry-After: 1 (and
 * keeps refusing until that second has passed, as the gateway would), so the retry is proven
 * without waiting out a real minute.
 */
import { demoOrgId } from "../../local/seed.ts";
import assert from "node:assert/strict";
import { createApiKey } from "../../local/api_keys.ts";
import { OPENAPI_TYPESCRIPT, REDOCLY_CLI } from "../../local/openapi.ts";
import { connectPostgres } from "../../local/postgres.ts";
import { postgresJsQuery, type Query } from "../../local/sql_db.ts";
import { freePort } from "../../local/net.ts";
import { companyOf } from "../harness/fixtures.ts";
import { clonePostgres, postgresSkip } from "../harness/targets.ts";
import { linkTargets, resolveLink } from "../docs/markdown.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const DEMO_ORG = (await demoOrgId())!;
const GLOBEX = "c0000000-0000-4000-8000-000000000001";
const ADA = "a0000000-0000-4000-8000-000000000001";
const ALAN = "a0000000-0000-4000-8000-000000000002";

/** A python3 that has requests: Debian's (scripts/install-test-deps.sh installs
 * python3-requests for it), else whatever python3 is on PATH. */
function findPython(): string | null {
  for (const python of ["/usr/bin/python3", "python3"]) {
    try {
      const out = new Deno.Command(python, {
        args: ["-c", "import requests"],
        stdout: "null",
        stderr: "null",
      }).outputSync();
      if (out.success) return python;
    } catch { /* not there */ }
  }
  console.error(
    "\n!!! The Python example is IGNORED: no python3 here can `import requests` " +
      "(install python3-requests). !!!\n",
  );
  return null;
}
const python = findPython();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], env: Record<string, string>): Promise<Run> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: REPO,
    env: { ...env, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(90_000),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** Stands in front of the dev server (`upstream`: its origin); refuses like the gateway when
 * told to. */
function proxy(upstream: string) {
  let refuseNext = false;
  let refuseUntil = -Infinity;
  const statuses: number[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const now = performance.now();
    if (refuseNext || now < refuseUntil) {
      refuseNext = false;
      // Retry-After: 1; the margin covers timer granularity, not a client that does not wait.
      refuseUntil = now + 900;
      statuses.push(429);
      await req.body?.cancel();
      return Response.json({
        error: { code: "rate_limited", message: "Rate limit exceeded. Retry after 1 seconds." },
      }, { status: 429, headers: { "Retry-After": "1" } });
    }
    const url = new URL(req.url);
    const headers = new Headers(req.headers);
    headers.delete("host");
    const res = await fetch(`${upstream}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      body: req.body,
    });
    statuses.push(res.status);
    return new Response(res.body, { status: res.status, headers: res.headers });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/functions/v1`,
    statuses,
    /** Clears the record; the next request gets a 429. */
    refuseNextRequest() {
      statuses.length = 0;
      refuseNext = true;
    },
    shutdown: () => server.shutdown(),
  };
}

/** `deno task dev` on `databaseUrl`; resolves once it answers GET openapi.json. */
async function startDevServer(databaseUrl: string) {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "dev"],
    cwd: REPO,
    env: { PORT: String(port), DATABASE_URL: databaseUrl },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Drained as it comes, so the server never blocks on a full pipe; kept for failure messages.
  let printed = "";
  const drain = (stream: ReadableStream<Uint8Array>) =>
    stream.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (chunk) => void (printed += chunk) }),
    ).catch(() => {});
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await drained;
  };
  const base = `http://127.0.0.1:${port}/functions/v1`;
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + 120_000;
  while (true) {
    const res = await fetch(`${base}/api-gateway/v1/openapi.json`).catch(() => null);
    await res?.body?.cancel();
    if (res?.status === 200) break;
    if (exited || Date.now() > deadline) {
      await stop();
      assert.fail(`deno task dev did not come up:\n${printed}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { base, stop, printed: () => printed };
}

/** The seed's state for the contacts the examples touch: neither linked to a company. */
async function resetContacts(owner: Query) {
  await owner("update public.contacts set company_id = null where id = any($1::uuid[])", [
    [ADA, ALAN],
  ]);
}

/** What every program example does: link Ada and Alan to Globex, list Globex, unlink Alan. */
async function assertFlowDone(owner: Query) {
  assert.deepEqual(
    await companyOf(owner, [ADA, ALAN]),
    { [ADA]: GLOBEX, [ALAN]: null },
    "Ada is linked to Globex, Alan was unlinked",
  );
}

/** curl -i output: the answers in order (a retried request prints each). */
function curlAnswers(stdout: string) {
  // A refused answer's body runs straight into the retry's status line.
  return stdout.split(/(?=HTTP\/[\d.]+ \d{3} )/).filter(Boolean).map((chunk) => {
    const [head, ...rest] = chunk.split("\r\n\r\n");
    const [statusLine, ...lines] = head.split("\r\n");
    const headers = new Headers(lines.map((l) => l.split(/:\s*/, 2) as [string, string]));
    return { status: Number(statusLine.split(" ")[1]), headers, body: JSON.parse(rest.join("")) };
  });
}

const RATE_LIMIT_LINE = /RateLimit: "(minute|day)";r=\d+;t=\d+, \d+ of 1000 left today/g;

Deno.test({
  name: "e2e: the client examples (curl, fetch, openapi-fetch, Python requests) " +
    "against `deno task dev`",
  ignore: postgresSkip !== null,
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const url = await clonePostgres();
  const sql = connectPostgres(url, { role: null, max: 2 });
  const owner = postgresJsQuery(sql);
  const key = await createApiKey(owner, {
    orgId: DEMO_ORG,
    name: "examples",
    permissions: ["contacts:read", "contacts:write"],
  });
  const writeOnly = await createApiKey(owner, {
    orgId: DEMO_ORG,
    name: "examples, no read",
    permissions: ["contacts:write"],
  });
  const dev = await startDevServer(url);
  const gate = proxy(new URL(dev.base).origin);
  const env = (apiKey = key.plaintext, extra: Record<string, string> = {}) => ({
    LEADLEX_API_URL: gate.url,
    LEADLEX_API_KEY: apiKey,
    ...extra,
  });

  try {
    await t.step("curl: link, list, unlink, each answer with its rate-limit headers", async () => {
      await resetContacts(owner);
      gate.refuseNextRequest();
      const linked = await run(["sh", "examples/curl/link.sh"], env());
      assert.equal(linked.code, 0, linked.stdout + linked.stderr);
      const [refused, link] = curlAnswers(linked.stdout);
      assert.equal(refused.status, 429, "curl waited out the 429 and retried");
      assert.deepEqual(gate.statuses, [429, 200]);
      assert.equal(link.status, 200);
      assert.deepEqual(link.body, { data: { updated: 2, failed: 0, failed_ids: [] } });
      assert.match(link.headers.get("RateLimit")!, /^"(minute|day)";r=\d+;t=\d+$/);
      assert.equal(link.headers.get("X-RateLimit-Limit"), "1000");

      const listed = await run(["sh", "examples/curl/list.sh"], env());
      assert.equal(listed.code, 0, listed.stdout + listed.stderr);
      const [list] = curlAnswers(listed.stdout);
      assert.equal(list.status, 200);
      assert.equal(list.body.meta.total, 2);
      assert.deepEqual(list.body.data.map((c: { id: string }) => c.id), [ADA, ALAN]);

      const unlinked = await run(["sh", "examples/curl/unlink.sh"], env());
      assert.equal(unlinked.code, 0, unlinked.stdout + unlinked.stderr);
      const [unlink] = curlAnswers(unlinked.stdout);
      assert.deepEqual(unlink.body, { data: { updated: 1, failed: 0, failed_ids: [] } });
      await assertFlowDone(owner);
    });

    await t.step("curl: a 4xx exits non-zero and prints the envelope", async () => {
      const refused = await run(["sh", "examples/curl/list.sh"], env(writeOnly.plaintext));
      assert.equal(refused.code, 22, "--fail-with-body: curl's exit code for an HTTP error");
      const [answer] = curlAnswers(refused.stdout);
      assert.equal(answer.status, 403);
      assert.equal(answer.body.error.code, "insufficient_permissions");
      assert.match(answer.body.error.message, /contacts:read/);
      assert.ok(answer.headers.has("X-RateLimit-Remaining"));
    });

    await t.step(
      "curl: walk.sh reads a company of 150 and more contacts by cursor, each once",
      async () => {
        const extra = (await owner<{ id: string }>(
          `insert into public.contacts (org_id, company_id, full_name, created_at)
         select $1, $2, 'walker ' || g, now() - make_interval(secs => g % 7)
         from generate_series(1, 150) g returning id`,
          [DEMO_ORG, GLOBEX],
        )).map((r) => r.id);
        try {
          const walked = await run(["sh", "examples/curl/walk.sh"], env());
          assert.equal(walked.code, 0, walked.stdout + walked.stderr);
          const pages = walked.stdout.trim().split("\n").map((line) => JSON.parse(line));
          const expected = (await owner<{ id: string }>(
            "select id from public.contacts where company_id = $1 order by created_at, id",
            [GLOBEX],
          )).map((r) => r.id);
          assert.equal(pages.length, 2, "100 a page");
          assert.equal(pages[0].meta.total, expected.length);
          assert.equal(pages[1].meta.next_cursor, null);
          assert.deepEqual(
            pages.flatMap((p: { data: { id: string }[] }) => p.data.map((c) => c.id)),
            expected,
          );
        } finally {
          await owner("delete from public.contacts where id = any($1::uuid[])", [extra]);
        }
      },
    );

    const programs: [string, string[] | null][] = [
      ["fetch", [Deno.execPath(), "run", "--allow-env", "--allow-net", "examples/fetch.ts"]],
      ["openapi-fetch", [
        Deno.execPath(),
        "run",
        "--allow-env",
        "--allow-net",
        "examples/openapi_fetch.ts",
      ]],
      ["Python requests", python ? [python, "examples/python_requests.py"] : null],
    ];
    for (const [name, argv] of programs) {
      await t.step({
        name: `${name}: link, walk by cursor, unlink, a handled 404, rate limits printed, ` +
          "a 429 waited out",
        ignore: argv === null,
        fn: async () => {
          await resetContacts(owner);
          gate.refuseNextRequest();
          // One contact a page: the walk takes a page, then a cursor's.
          const out = await run(argv!, env(key.plaintext, { LEADLEX_PER_PAGE: "1" }));
          const said = `${out.stdout}\n${out.stderr}`;
          assert.equal(out.code, 0, said);
          // One 429, waited out; then link, two pages, unlink and the unknown company.
          assert.deepEqual(gate.statuses, [429, 200, 200, 200, 200, 404], said);
          assert.match(out.stdout, /retrying in 1 s/);
          assert.match(out.stdout, /^linked: 2 updated, 0 failed$/m);
          assert.match(out.stdout, /^Globex has 2 contacts:$/m);
          // Each contact once, in order, over the two pages.
          const listed = [...out.stdout.matchAll(/^ {2}([0-9a-f-]{36}) (.+)$/gm)].map((m) =>
            `${m[1]} ${m[2]}`
          );
          assert.deepEqual(listed, [`${ADA} Ada Lovelace`, `${ALAN} Alan Turing`], said);
          assert.match(out.stdout, /^unlinked: 1 updated, 0 failed$/m);
          assert.match(
            out.stdout,
            /^refused as expected: 404 company_not_found: No company c0000000-0000-4000-8000-000000000009 in this workspace\.$/m,
          );
          assert.ok((out.stdout.match(RATE_LIMIT_LINE) ?? []).length >= 4, said);
          await assertFlowDone(owner);
        },
      });
      await t.step({
        name: `${name}: a key without contacts:read stops at the list with the 403 envelope`,
        ignore: argv === null,
        fn: async () => {
          const out = await run(argv!, env(writeOnly.plaintext));
          const said = `${out.stdout}\n${out.stderr}`;
          assert.equal(out.code, 1, said);
          assert.match(out.stdout, /^linked: 2 updated, 0 failed$/m);
          assert.match(
            out.stderr,
            /^error: 403 insufficient_permissions: This API key lacks the required permission: contacts:read\.$/m,
          );
          assert.doesNotMatch(said, /^unlinked/m);
        },
      });
    }
  } finally {
    await gate.shutdown();
    await dev.stop();
    await sql.end();
  }
});

Deno.test("docs: every example is linked where its reader looks, with the pinned tools", async () => {
  const walk = async (dir: string): Promise<string[]> => {
    const found: string[] = [];
    for await (const entry of Deno.readDir(`${REPO}${dir}`)) {
      if (entry.name.startsWith(".") || entry.name === "__pycache__") continue;
      if (entry.isDirectory) found.push(...await walk(`${dir}${entry.name}/`));
      // Generated types and import maps are read by the programs, not run.
      else if (!/\.(d\.ts|json)$/.test(entry.name)) found.push(`${dir}${entry.name}`);
    }
    return found;
  };
  const examples = (await walk("examples/")).sort();
  const clients = examples.filter((f) => !f.startsWith("examples/webhook_receiver."));
  assert.ok(clients.length >= 6, clients.join(" "));
  /** The repository files a doc links to. */
  const linkedFrom = async (doc: string) => {
    const md = await Deno.readTextFile(`${REPO}${doc}`);
    return new Set(linkTargets(md).map((l) => resolveLink(doc, l.text)?.path));
  };
  const usage = await linkedFrom("docs/using-the-api.md");
  const hooks = await linkedFrom("docs/webhooks.md");
  for (const file of examples) {
    const doc = clients.includes(file) ? "docs/using-the-api.md" : "docs/webhooks.md";
    assert.ok((clients.includes(file) ? usage : hooks).has(file), `${doc} must link ${file}`);
  }

  // The tool versions these tests run, named in the docs exactly.
  const examplesConfig = JSON.parse(await Deno.readTextFile(`${REPO}examples/deno.json`));
  const npm = (name: string) => examplesConfig.imports[name].replace(/^npm:/, "");
  const pins: [string, string, string][] = [
    ["@redocly/cli", REDOCLY_CLI, "docs/using-the-api.md"],
    ["openapi-typescript", OPENAPI_TYPESCRIPT, "docs/using-the-api.md"],
    ["openapi-fetch", npm("openapi-fetch"), "docs/using-the-api.md"],
    ["standardwebhooks", npm("standardwebhooks"), "docs/webhooks.md"],
  ];
  const docs = await Promise.all(
    ["README.md", "docs/using-the-api.md", "docs/webhooks.md", "docs/development.md"].map(
      async (doc) => [doc, await Deno.readTextFile(`${REPO}${doc}`)] as const,
    ),
  );
  for (const [name, pinned, home] of pins) {
    const mention = new RegExp(`(?<![\\w@/-])${name}@[0-9][\\w.-]*`, "g");
    assert.ok(
      docs.find(([doc]) => doc === home)![1].includes(pinned),
      `${home} never names ${pinned}`,
    );
    for (const [doc, text] of docs) {
      for (const [named] of text.matchAll(mention)) assert.equal(named, pinned, `${doc}: ${named}`);
    }
  }
});
