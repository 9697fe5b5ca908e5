// `deno task dev` applies new migrations: to a --data-dir database at start, and to the cached
// archive of the in-memory database.
import assert from "node:assert/strict";
import { connectPostgres } from "../../local/postgres.ts";
import { REPO, spawnDev } from "../harness/dev_server.ts";
import { freePort } from "../../local/net.ts";

const PHASE = (label: string) => new RegExp(`^${label}\\.\\.\\. \\d+\\.\\d s$`, "m");

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
  // The checkout's archive, when it has one for these migrations: the first start then need not
  // migrate (that path is the third step's); only what this test changes runs the CLI.
  await Deno.mkdir(`${repo}/.cache/pglite`, { recursive: true });
  try {
    for await (const entry of Deno.readDir(`${REPO}/.cache/pglite`)) {
      if (entry.isFile) {
        await Deno.copyFile(
          `${REPO}/.cache/pglite/${entry.name}`,
          `${repo}/.cache/pglite/${entry.name}`,
        );
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const dir = `${repo}/.dev-data`;
  const start = async (args: string[]) => {
    const dev = spawnDev(freePort(), { repo, args });
    return { dev, printed: await dev.ready() };
  };
  try {
    await t.step("first start: from the migrated archive, kept in the directory", async () => {
      const { dev, printed } = await start(["--data-dir", dir]);
      await dev.stop();
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
        // Through the URL the dev server prints, as any client would.
        const sql = connectPostgres(dev.databaseUrl(), { role: null, max: 1 });
        try {
          const [row] = await sql`select to_regclass('public.dev_probe')::text as t,
            (select count(*)::int from supabase_migrations.schema_migrations
             where version = '29991231000000') as v`;
          assert.deepEqual({ ...row }, { t: "dev_probe", v: 1 });
        } finally {
          await sql.end();
        }
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
