import assert from "node:assert/strict";
import { freePort } from "../harness/net.ts";

const REPO = new URL("../../", import.meta.url).pathname;

/** The README's promise: `deno task dev` prints a key and a curl that works as pasted. */
Deno.test("e2e: `deno task dev` serves the printed curl on PGlite", async () => {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "dev"],
    cwd: REPO,
    env: { PORT: String(port), DATABASE_URL: "" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const stderrText = (async () => {
    let all = "";
    for (let r = await stderr.read(); !r.done; r = await stderr.read()) all += r.value;
    return all;
  })();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let printed = "";
  try {
    const deadline = setTimeout(() => child.kill("SIGKILL"), 120_000);
    // Read until the curl example is complete (its last line carries -d).
    let curl: string[] | null = null;
    while (!curl) {
      const r = await stdout.read();
      if (r.done) break;
      printed += r.value;
      const lines = printed.split("\n");
      const start = lines.findIndex((l) => l.startsWith("curl "));
      const end = lines.findIndex((l, i) => i > start && l.trimStart().startsWith("-d "));
      if (start >= 0 && end > start && printed.endsWith("\n")) curl = lines.slice(start, end + 1);
    }
    const seen = printed.split("\n");
    clearTimeout(deadline);
    if (!curl) assert.fail(`no curl printed:\n${printed}\n${await stderrText}`);
    const command = curl.join("\n");
    assert.ok(command.includes(`http://localhost:${port}/functions/v1/api-gateway/v1/companies/`));
    const key = command.match(/wbk_[0-9A-Za-z]{52}/)?.[0];
    assert.ok(key, "the curl carries a fresh key");

    const run = async (cmd: string) => {
      const out = await new Deno.Command("sh", {
        args: ["-c", `timeout 30 ${cmd} -w '\\n%{http_code}'`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout).trim().split("\n");
      return { status: Number(text.pop()), body: JSON.parse(text.join("\n")) };
    };
    const first = await run(command);
    assert.equal(first.status, 200);
    assert.equal(typeof first.body.data.updated, "number");
    assert.equal(typeof first.body.data.failed, "number");
    assert.equal(first.body.data.updated + first.body.data.failed, 2);

    // The same URL without the key: the envelope, over a real socket.
    const unauth = await run(command.replace(/-H "Authorization: [^"]+" \\\n/, ""));
    assert.equal(unauth.status, 401);
    assert.equal(unauth.body.error.code, "invalid_key");

    // The key is printed once, in the banner, and in no request log line.
    const keyLines = seen.filter((l) => l.includes(key));
    assert.ok(keyLines.every((l) => l.trim() === key || l.includes("Authorization: Bearer")));
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await stdout.cancel().catch(() => {});
    await stderrText;
  }
});
