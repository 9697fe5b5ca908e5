import assert from "node:assert/strict";
import { connectDataDir } from "../../local/dev_data_dir.ts";
import {
  type Launcher,
  portTaken,
  processTree,
  REPO,
  spawnDev,
  stillRunning,
  withoutTaskLine,
} from "../harness/dev_server.ts";
import { freePort } from "../harness/net.ts";

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
    assert.match(stderr, new RegExp(`PORT=${port + 1} deno task dev`));
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
  // included) until the terminal signals the whole group, as below.
  ["direct", "SIGINT", "group"],
  ["task", "SIGINT", "group"],
  ["npx", "SIGINT", "group"],
];

Deno.test({
  name: "e2e: SIGINT or SIGTERM to the outermost process frees the port and leaves no process",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  for (const [launcher, signal, target] of STOPS) {
    await t.step(`${launcher}, ${signal} to the ${target}`, async () => {
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
      } finally {
        await dev.stop("SIGKILL");
        for (const pid of tree.length ? stillRunning(tree) : []) Deno.kill(pid, "SIGKILL");
      }
    });
  }
});

Deno.test({
  name: "e2e: new migrations reach a --data-dir database at start, and rebuild the cached archive",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  // A copy of the checkout, so a migration can be added without touching this one.
  const repo = await Deno.makeTempDir({ prefix: "gateway-repo-copy-" });
  const files = new TextDecoder().decode(
    new Deno.Command("git", {
      args: ["ls-files", "-co", "--exclude-standard"],
      cwd: REPO,
      stdout: "piped",
    }).outputSync().stdout,
  ).trim().split("\n");
  for (const file of files) {
    const to = `${repo}/${file}`;
    await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(`${REPO}/${file}`, to).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err; // deleted in the work tree
    });
  }
  const dir = `${repo}/.dev-data`;
  const start = async (args: string[]) => {
    const dev = spawnDev(freePort(), { repo, args });
    return { dev, printed: await dev.ready() };
  };
  try {
    await t.step("first start: migrated by the CLI, kept in the directory", async () => {
      const { dev, printed } = await start(["--data-dir", dir]);
      await dev.stop();
      assert.match(printed, PHASE("database: migrating a new PGlite with the Supabase CLI .*"));
      assert.match(printed, PHASE(`database: creating PGlite in ${dir} from the migrated archive`));
    });

    const migration = "29991231000000_dev_probe.sql";
    await Deno.writeTextFile(
      `${repo}/supabase/migrations/${migration}`,
      "create table public.dev_probe (id int primary key);\n",
    );

    await t.step("a new migration is applied at the next start", async () => {
      const { dev, printed } = await start(["--data-dir", dir]);
      try {
        assert.match(printed, PHASE(`database: opening PGlite in ${dir}`));
        assert.match(
          printed,
          PHASE(`database: applying 1 new migration with the Supabase CLI \\(${migration}\\)`),
        );
        const db = await connectDataDir(dir);
        const [row] = await db.query<{ t: string | null; v: number }>(
          `select to_regclass('public.dev_probe')::text as t,
                  (select count(*)::int from supabase_migrations.schema_migrations
                   where version = '29991231000000') as v`,
          [],
        );
        assert.deepEqual(row, { t: "dev_probe", v: 1 });
      } finally {
        await dev.stop();
      }
      const { dev: again, printed: quiet } = await start(["--data-dir", dir]);
      await again.stop();
      assert.doesNotMatch(quiet, /applying|migrating/, "nothing to apply the time after");
    });

    await t.step("in memory: the archive is rebuilt once for the new migrations", async () => {
      const { dev, printed } = await start([]);
      await dev.stop();
      assert.match(printed, /database: migrating a new PGlite/);
      const { dev: warm, printed: cached } = await start([]);
      await warm.stop();
      assert.doesNotMatch(cached, /migrating/);
      assert.match(cached, PHASE("database: loading the migrated PGlite"));
    });
  } finally {
    await Deno.remove(repo, { recursive: true }).catch(() => {});
  }
});
