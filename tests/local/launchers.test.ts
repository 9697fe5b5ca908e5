// A Ctrl-C reaches the whole process group at once, and npm's deno shim (node, blocked in
// spawnSync) dies of it at once: the server's launcher watch may see it gone before the server
// has handled its own SIGINT. The stop is the signal's (tests/e2e/dev_signals.test.ts checks the
// line the dev server prints; its once-a-second watch met this race once in a fresh-clone run).
import assert from "node:assert/strict";
import { collectOutput } from "../resilience/support.ts";

const FIXTURE = new URL("./fixtures/watch_launchers.ts", import.meta.url).pathname;
// The shim's own way of running Deno: spawnSync, no signal handler of node's.
const SHIM = 'require("child_process").spawnSync(process.argv[1], process.argv.slice(2), ' +
  '{ stdio: "inherit" })';

Deno.test("launchers: a Ctrl-C that also ends a launcher stops as the signal", async (t) => {
  for (let round = 1; round <= 5; round++) {
    await t.step(`round ${round}`, async () => {
      const child = new Deno.Command("node", {
        args: ["-e", SHIM, Deno.execPath(), "run", "--allow-run", FIXTURE],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        detached: true, // a group of its own, as a terminal gives a command
      }).spawn();
      const stdout = collectOutput(child.stdout);
      const stderr = collectOutput(child.stderr);
      try {
        const watching = await stdout.waitFor((text) => text.includes("watching"), 30_000);
        assert.ok(watching, `the fixture did not start: ${stdout.text}${stderr.text}`);
        Deno.kill(-child.pid, "SIGINT");
        await child.status;
        await stdout.done;
        assert.equal(stdout.text.trim().split("\n").at(-1), "stopped: SIGINT", stderr.text);
      } finally {
        try {
          Deno.kill(-child.pid, "SIGKILL");
        } catch { /* the group has ended */ }
      }
    });
  }
});
