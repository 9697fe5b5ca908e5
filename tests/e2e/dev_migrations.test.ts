// `deno task dev` applies new migrations: to a --data-dir database at start, and to the cached
// archive of the in-memory database. A data directory also keeps the key its webhook secrets are
// encrypted under (made on its first start, mode 0600), so they decrypt after a restart.
import assert from "node:assert/strict";
import { connectPostgres } from "../../local/postgres.ts";
import { REPO, spawnDev } from "../harness/dev_server.ts";
import { freePort } from "../../local/net.ts";
import { secretsKeysFileOf } from "../../local/dev_data_dir.ts";
import { parseKeyring } from "../../supabase/functions/api-gateway/webhooks/secret_keys.ts";

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
    const port = freePort();
    const dev = spawnDev(port, { repo, args });
    return { dev, port, printed: await dev.ready() };
  };
  let keysFile = "";
  let shownSecret = "";
  try {
    await t.step("first start: from the migrated archive, kept in the directory", async () => {
      const { dev, port, printed } = await start(["--data-dir", dir]);
      try {
        assert.match(
          printed,
          PHASE(`database: creating PGlite in ${dir} from the migrated archive`),
        );
        const res = await fetch(`http://127.0.0.1:${port}/functions/v1/api-gateway/v1/webhooks`, {
          method: "POST",
          headers: { authorization: `Bearer ${dev.key()}`, "content-type": "application/json" },
          body: JSON.stringify({
            url: "http://127.0.0.1:9/hooks",
            events: ["company.contacts_linked"],
            active: false,
          }),
        });
        const body = await res.json();
        assert.equal(res.status, 201, JSON.stringify(body));
        shownSecret = body.data.webhook.secret;
      } finally {
        await dev.stop();
      }
      const stat = await Deno.stat(secretsKeysFileOf(dir));
      assert.equal(stat.mode! & 0o777, 0o600, "the key file is its owner's alone");
      keysFile = await Deno.readTextFile(secretsKeysFileOf(dir));
      assert.match(keysFile, /^dev-[0-9a-f]{8}:[A-Za-z0-9+/]{43}=\n$/);
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
          // The first start's secret: stored encrypted under the directory's kept key.
          const [{ secret }] = await sql`select secret from public.webhook_endpoints
            where url = 'http://127.0.0.1:9/hooks'`;
          assert.match(secret, /^whenc_v1\.dev-/);
          assert.equal(await (await parseKeyring(keysFile)).decrypt(secret), shownSecret);
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
      assert.equal(await Deno.readTextFile(secretsKeysFileOf(dir)), keysFile, "the key is kept");
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
