// `deno task dev` stops cleanly on SIGINT or SIGTERM, however it was launched, and says in one
// line what it did.
import assert from "node:assert/strict";
import {
  type Launcher,
  portTaken,
  processTree,
  spawnDev,
  stillRunning,
} from "../harness/dev_server.ts";
import { freePort } from "../../local/net.ts";

/** Who receives the signal: the outermost process alone (a script's `kill <pid>`), or its whole
 * process group (a terminal's Ctrl-C). */
type Target = "process" | "group";
const STOPS: [Launcher, Deno.Signal, Target][] = [
  ["direct", "SIGTERM", "process"],
  ["direct", "SIGINT", "process"],
  ["task", "SIGTERM", "process"],
  ["task", "SIGINT", "process"],
  ["npx", "SIGTERM", "process"],
  // Not ["npx", "SIGINT", "process"]: npm passes a lone SIGINT to its `sh -c`, and the shell, as
  // POSIX shells do, waits for its child instead of passing it on, so nothing stops (npx
  // included) until the terminal signals the whole group, as here. (Directly or by `deno task`,
  // a lone SIGINT already works, above, so the group's is no different there.)
  ["npx", "SIGINT", "group"],
];

Deno.test({
  name: "e2e: SIGINT or SIGTERM to the outermost process frees the port, leaves no process, and " +
    "says what it did",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  // Side by side, each on its own port: they share nothing but the machine.
  const failures: string[] = [];
  await Promise.all(STOPS.map(async ([launcher, signal, target]) => {
    const label = `${launcher}, ${signal} to the ${target}`;
    try {
      const port = freePort();
      const dev = spawnDev(port, { launcher, group: target === "group" });
      let tree: number[] = [];
      try {
        await dev.ready();
        tree = processTree(dev.pid);
        assert.ok(portTaken(port));
        // A negative pid signals the process group.
        Deno.kill(target === "group" ? -dev.pid : dev.pid, signal);
        await dev.status;
        // The processes below the outermost one stop on their own, in bounded time.
        for (let i = 0; i < 200 && stillRunning(tree).length > 0; i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.deepEqual(stillRunning(tree), [], `left running (tree ${tree})`);
        assert.ok(!portTaken(port), "the port is free");
        // Its output ends once the server has: the stop line is the last.
        await dev.stdout.done;
        const last = dev.stdout.text.trimEnd().split("\n").at(-1) ?? "";
        // A SIGTERM to `npx` alone reaches nobody else: the server sees its launcher gone.
        const cause = launcher === "npx" && signal === "SIGTERM"
          ? "the command that started it ended"
          : signal;
        const key = dev.key().slice(0, 12);
        assert.equal(
          last,
          `stopped (${cause}): the demo key ${key}… revoked; ` +
            "the in-memory database closed, its data discarded",
        );
      } finally {
        await dev.stop("SIGKILL");
        for (const pid of tree.length ? stillRunning(tree) : []) Deno.kill(pid, "SIGKILL");
      }
      console.log(`  ${label}: stopped, port free, nothing left`);
    } catch (err) {
      failures.push(`${label}: ${(err as Error).message}`);
    }
  }));
  assert.deepEqual(failures, [], failures.join("\n"));
});
