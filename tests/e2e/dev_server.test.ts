import assert from "node:assert/strict";
import { spawnDev, withoutTaskLine } from "../harness/dev_server.ts";
import { freePort } from "../../local/net.ts";

const PHASE = (label: string) => new RegExp(`^${label}\\.\\.\\. \\d+\\.\\d s$`, "m");

async function curl(command: string) {
  const out = await new Deno.Command("sh", {
    args: ["-c", `timeout 30 ${command} -w '\\n%{http_code}'`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n");
  return { status: Number(text.pop()), body: JSON.parse(text.join("\n")) };
}

/** The README's promise: `deno task dev` prints a key and a curl that works as pasted. */
Deno.test("e2e: `deno task dev` says what it does, serves the printed curl, warns of nothing", async () => {
  const port = freePort();
  const dev = spawnDev(port);
  try {
    const printed = await dev.ready();
    // One line per phase, each with its duration, before the banner.
    assert.match(printed, PHASE(`listening on 127\\.0\\.0\\.1:${port}`));
    assert.match(printed, PHASE("database: loading the migrated PGlite"));
    assert.match(printed, PHASE("demo key: minting a key for the seed's demo org"));
    assert.match(printed, /^ready in \d+\.\d s: api-gateway on /m);

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

    // The same URL without the key: the envelope, over a real socket.
    const unauth = await curl(command.replace(/-H "Authorization: [^"]+" \\\n/, ""));
    assert.equal(unauth.status, 401);
    assert.equal(unauth.body.error.code, "invalid_key");

    // The OpenAPI document lists this server.
    const doc = await (await fetch(
      `http://127.0.0.1:${port}/functions/v1/api-gateway/v1/openapi.json`,
    )).json();
    assert.ok(
      doc.servers.some((s: { url: string }) => s.url === `http://localhost:${port}/functions/v1`),
    );

    // The key is printed once, in the banner, and in no request log line.
    const keyLines = dev.stdout.text.split("\n").filter((l) => l.includes(key));
    assert.ok(keyLines.every((l) => l.trim() === key || l.includes("Authorization: Bearer")));
  } finally {
    await dev.stop();
  }
  // No runtime warning (such as Deno's request.signal notice) on a normal run and first requests.
  assert.equal(withoutTaskLine(dev.stderr.text).trim(), "");
});

Deno.test("e2e: a taken port stops `deno task dev` before any slow work, naming PORT", async () => {
  const port = freePort();
  const holder = Deno.listen({ hostname: "127.0.0.1", port });
  try {
    const dev = spawnDev(port);
    const status = await dev.status;
    await dev.stop();
    assert.equal(status.code, 1);
    const stderr = withoutTaskLine(dev.stderr.text).trim();
    assert.equal(stderr.split("\n").length, 1, stderr);
    assert.match(stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
    assert.match(stderr, new RegExp(`PORT=${port + 1} npx --yes deno@\\S+ task dev`));
    assert.doesNotMatch(dev.stdout.text, /database:/, "nothing slow was started");
  } finally {
    holder.close();
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
  }
});
