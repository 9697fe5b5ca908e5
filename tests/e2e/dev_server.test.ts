import assert from "node:assert/strict";
import { portTaken, spawnDev, withoutTaskLine } from "../harness/dev_server.ts";
import { freePort } from "../../local/net.ts";
import { MAX_BODY_BYTES } from "../../supabase/functions/api-gateway/limits.ts";

const PHASE = (label: string) => new RegExp(`^${label}\\.\\.\\. \\d+\\.\\d s$`, "m");

async function curl(command: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command("sh", {
    args: ["-c", `timeout 30 ${command} -w '\\n%{http_code}'`],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n");
  return { status: Number(text.pop()), body: JSON.parse(text.join("\n")) };
}

/** The curl commands of the README's "Try it", as written (its exports are the test's env). */
async function readmeTryIt(): Promise<string[]> {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("\n## Try it\n"));
  const start = section.indexOf("```sh\n") + 6;
  const block = section.slice(start, section.indexOf("\n```", start));
  const commands: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("export ") || line.startsWith("#")) continue;
    if (line.startsWith("curl ")) commands.push(line);
    else commands[commands.length - 1] += `\n${line}`;
  }
  return commands;
}

/** A body sent as a stream: no Content-Length, Transfer-Encoding: chunked. */
const chunked = (text: string) =>
  new Blob([text]).stream().pipeThrough(new TransformStream()) as ReadableStream<Uint8Array>;

/** The README's promise: `deno task dev` prints a key and a curl that works as pasted. */
Deno.test("e2e: `deno task dev` says what it does, serves the printed curl, warns of nothing on any answer", async () => {
  const port = freePort();
  const dev = spawnDev(port);
  try {
    const printed = await dev.ready();
    // One line per phase, each with its duration, before the banner.
    assert.match(printed, PHASE(`listening on 127\\.0\\.0\\.1:${port}`));
    assert.match(printed, PHASE("database: loading the migrated PGlite"));
    assert.match(printed, PHASE("demo key: minting a key for the seed's demo org"));
    assert.match(
      printed,
      PHASE("database: serving it to Postgres clients on 127\\.0\\.0\\.1, a free port"),
    );
    // Counted from the command's start (here: the test run's, its outermost launcher in this
    // process group), and this process's share when the launchers took time of their own.
    assert.match(
      printed,
      /^ready in \d+\.\d s since the command began( \(this process: \d+\.\d s\))?: api-gateway on /m,
    );
    // The database as a URL for every tool, and the demo org's id for `keys --org`.
    assert.match(
      printed,
      /^database: postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres\?sslmode=disable \(embedded PGlite, in memory/m,
    );
    assert.match(
      printed,
      /^demo org: "Acme Demo Workspace" 0a000000-0000-4000-8000-000000000001$/m,
    );

    const lines = printed.split("\n");
    const start = lines.findIndex((l) => l.startsWith("curl "));
    const command = lines.slice(start, lines.findIndex((l) => l.startsWith("  -d ")) + 1)
      .join("\n");
    assert.ok(command.includes(`http://localhost:${port}/functions/v1/api-gateway/v1/companies/`));
    const key = dev.key();
    assert.ok(command.includes(key), "the curl carries the fresh key");

    const first = await curl(command);
    assert.equal(first.status, 200);
    assert.equal(first.body.data.updated + first.body.data.failed, 2);

    // The README's "Try it": the demo key reads, then mints a second key over the API, which
    // holds what it was given and nothing else.
    const env = {
      LEADLEX_API_URL: `http://localhost:${port}/functions/v1`,
      LEADLEX_API_KEY: key,
    };
    const [read, mint] = await readmeTryIt();
    assert.equal((await curl(read, env)).status, 200, read);
    const minted = await curl(mint, env);
    assert.equal(minted.status, 201, JSON.stringify(minted.body));
    assert.deepEqual(minted.body.data.permissions, ["contacts:read"]);
    const second = { ...env, LEADLEX_API_KEY: minted.body.data.key };
    assert.equal((await curl(read, second)).status, 200, "the second key reads");
    assert.equal((await curl(mint, second)).status, 403, "and may not mint keys");

    // The same URL without the key: the envelope, over a real socket.
    const unauth = await curl(command.replace(/-H "Authorization: [^"]+" \\\n/, ""));
    assert.equal(unauth.status, 401);
    assert.equal(unauth.body.error.code, "invalid_key");

    // The OpenAPI document lists this server.
    const gateway = `http://127.0.0.1:${port}/functions/v1/api-gateway`;
    const doc = await (await fetch(`${gateway}/v1/openapi.json`)).json();
    assert.ok(
      doc.servers.some((s: { url: string }) => s.url === `http://localhost:${port}/functions/v1`),
    );

    // Every kind of answer, so that a warning any of them prints fails the check below.
    const link = new URL(command.match(/(http:\/\/\S+\/contacts\/link)/)![1]);
    link.hostname = "127.0.0.1";
    const body = command.match(/-d '(.*)'/)![1];
    const auth = { authorization: `Bearer ${key}` };
    const json = { ...auth, "content-type": "application/json" };
    const kinds: [string, string | URL, RequestInit, number][] = [
      ["link", link, { method: "POST", headers: json, body }, 200],
      // No Content-Length: the body is counted as it streams in (middleware/body_limit.ts).
      ["chunked link", link, { method: "POST", headers: json, body: chunked(body) }, 200],
      ["too large, streamed", link, {
        method: "POST",
        headers: json,
        body: chunked(" ".repeat(MAX_BODY_BYTES + 1)),
      }, 413],
      ["invalid body", link, { method: "POST", headers: json, body: "{}" }, 400],
      ["no key", link, { method: "POST", body }, 401],
      ["unknown route", `${gateway}/v1/nowhere`, { headers: auth }, 404],
      ["PUT", link, { method: "PUT", headers: auth }, 405],
      ["DELETE", link, { method: "DELETE", headers: auth }, 405],
      ["PUT with a body", link, { method: "PUT", headers: json, body: chunked(body) }, 405],
      ["preflight", link, {
        method: "OPTIONS",
        headers: {
          origin: "http://localhost:3000",
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type",
        },
      }, 204],
      ["document", `${gateway}/v1/openapi.json`, {}, 200],
      ["HEAD of the document", `${gateway}/v1/openapi.json`, { method: "HEAD" }, 200],
    ];
    for (const [label, url, init, status] of kinds) {
      const res = await fetch(url, init);
      await res.body?.cancel();
      assert.equal(res.status, status, `${label}: ${res.status}\n${dev.output()}`);
    }

    // The key is printed once, in the banner, and in no request log line.
    const keyLines = dev.stdout.text.split("\n").filter((l) => l.includes(key));
    assert.ok(keyLines.every((l) => l.trim() === key || l.includes("Authorization: Bearer")));
  } finally {
    await dev.stop();
  }
  // No runtime warning (such as Deno's request.signal notice) on any of the answers above.
  assert.equal(withoutTaskLine(dev.stderr.text).trim(), "", dev.output());
});

/** `n` consecutive loopback ports nobody listens on now. */
function freeRun(n: number): number {
  for (;;) {
    const first = freePort();
    if (first + n - 1 > 65535) continue;
    if (Array.from({ length: n - 1 }, (_, i) => first + 1 + i).every((p) => !portTaken(p))) {
      return first;
    }
  }
}

Deno.test("e2e: taken ports stop `deno task dev` before any slow work, with free ports it will not take itself", async () => {
  const base = freeRun(12);
  const held = [base, base + 4, base + 5, base + 8];
  const holders = held.map((port) => Deno.listen({ hostname: "127.0.0.1", port }));
  const cases: { PORT: number; DB_PORT: number; busy: ("PORT" | "DB_PORT")[] }[] = [
    // PORT taken; the next port up is the DB_PORT chosen (as PORT=54401 DB_PORT=54402).
    { PORT: base, DB_PORT: base + 1, busy: ["PORT"] },
    // Both taken: one line names both, with two free ports.
    { PORT: base + 4, DB_PORT: base + 5, busy: ["PORT", "DB_PORT"] },
    // DB_PORT taken; the next port up is the gateway's own.
    { PORT: base + 9, DB_PORT: base + 8, busy: ["DB_PORT"] },
  ];
  try {
    // One at a time: each tries ports, and so does this test.
    for (const { busy, ...ports } of cases) {
      const env = { PORT: String(ports.PORT), DB_PORT: String(ports.DB_PORT) };
      const dev = spawnDev(ports.PORT, { env, launcher: "direct" });
      const status = await dev.status;
      await dev.stop();
      const said = `${JSON.stringify(ports)}:\n${dev.output()}`;
      assert.equal(status.code, 1, said);
      const stderr = withoutTaskLine(dev.stderr.text).trim();
      assert.equal(stderr.split("\n").length, 1, said);
      const named = busy.map((name) => `port ${ports[name]} on 127\\.0\\.0\\.1 \\(${name}\\)`);
      assert.match(
        stderr,
        new RegExp(`^dev: ${named.join(" and ")} (is|are) already in use\\. Stop what listens`),
        said,
      );
      // The command to copy: both variables, the busy ones changed to ports free now, neither
      // one the dev server takes itself.
      const m = stderr.match(/: PORT=(\d+) DB_PORT=(\d+) npx --yes deno@\S+ task dev$/);
      assert.ok(m, said);
      const suggested = { PORT: Number(m[1]), DB_PORT: Number(m[2]) };
      assert.notEqual(suggested.PORT, suggested.DB_PORT, said);
      for (const name of ["PORT", "DB_PORT"] as const) {
        const p = suggested[name];
        if (!busy.includes(name)) {
          assert.equal(p, ports[name], `${name} as given: ${said}`);
          continue;
        }
        assert.ok(!Object.values(ports).includes(p), `${name}=${p} is the server's own: ${said}`);
        assert.ok(!held.includes(p), `${name}=${p} is held: ${said}`);
        assert.ok(!portTaken(p), `${name}=${p} is not free: ${said}`);
      }
      // No line printed, so none reads as a phase's success; nothing slow was started.
      assert.equal(dev.stdout.text, "", said);
    }
    // The same port for both.
    const same = base + 11;
    const dev = spawnDev(same, { env: { DB_PORT: String(same) }, launcher: "direct" });
    assert.equal((await dev.status).code, 1, dev.output());
    await dev.stop();
    assert.match(
      withoutTaskLine(dev.stderr.text).trim(),
      new RegExp(`^dev: PORT and DB_PORT are both ${same}: .* DB_PORT=(?!${same} )\\d+ npx `),
      dev.output(),
    );
  } finally {
    for (const holder of holders) holder.close();
  }
});

Deno.test("e2e: an unreachable or malformed DATABASE_URL is one line and a non-zero exit", async () => {
  const dead = freePort();
  const cases: [string, RegExp][] = [
    [
      `postgresql://postgres@127.0.0.1:${dead}/postgres`,
      new RegExp(`cannot reach DATABASE_URL \\(127\\.0\\.0\\.1:${dead}\\)`),
    ],
    ["not a url", /DATABASE_URL is not a connection URL/],
  ];
  for (const [url, reason] of cases) {
    const dev = spawnDev(freePort(), { env: { DATABASE_URL: url } });
    const status = await dev.status;
    await dev.stop();
    assert.equal(status.code, 1);
    const stderr = withoutTaskLine(dev.stderr.text).trim();
    assert.equal(stderr.split("\n").length, 1, stderr);
    assert.match(stderr, reason);
    // The phase it stopped in is closed as failed, on a line of its own.
    if (url !== "not a url") {
      assert.match(dev.stdout.text, /^database: connecting to Postgres at \S+\.\.\. failed$/m);
    }
  }
});
