// `deno task keys` against DATABASE_URL: a Postgres, or the URL `deno task dev` prints in each of
// its modes; and the dev server's demo key, which lives only while that server runs.
import assert from "node:assert/strict";
import {
  createApiKey,
  parseDuration,
  parseExpiry,
  parsePermissions,
} from "../../local/api_keys.ts";
import { freePort } from "../../local/net.ts";
import { connectPostgres } from "../../local/postgres.ts";
import { postgresJsQuery, type Query } from "../../local/sql_db.ts";
import { hashApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";
import { buildApp } from "../harness/app.ts";
import { type DevProcess, portTaken, REPO, runKeys, spawnDev } from "../harness/dev_server.ts";
import { createTenant, type Tenant } from "../harness/fixtures.ts";
import { explained } from "../harness/server_output.ts";
import { getTarget, targetTestOptions } from "../harness/targets.ts";

const KEY = /^(wbk_[0-9A-Za-z]{52})$/m;
const keyOf = (stdout: string) => {
  const key = stdout.match(KEY)?.[1];
  assert.ok(key, `a key on a line of its own:\n${stdout}`);
  return key;
};
const prefixOf = (key: string) => key.slice(0, 12);

/** A refusal: non-zero exit, nothing on stdout, one line on stderr matching `reason`. */
function assertRefused(r: { code: number; stdout: string; stderr: string }, reason: RegExp) {
  assert.notEqual(r.code, 0, `exit code: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], reason);
}

Deno.test("keys: what people type is parsed strictly", () => {
  assert.equal(parseDuration("30s"), 30);
  assert.equal(parseDuration("15m"), 900);
  assert.equal(parseDuration("2h"), 7_200);
  assert.equal(parseDuration("7d"), 604_800);
  for (const bad of ["", "7", "d", "1.5h", "-1h", "1w", "1h30m", " 1h"]) {
    assert.throws(() => parseDuration(bad), /not a duration/, bad);
  }
  const now = new Date("2026-06-01T00:00:00Z");
  assert.equal(parseExpiry("2027-01-01", now).toISOString(), "2027-01-01T00:00:00.000Z");
  assert.equal(
    parseExpiry("2027-01-01T09:30:00+02:00", now).toISOString(),
    "2027-01-01T07:30:00.000Z",
  );
  for (const bad of ["2027-02-30", "2027-13-01", "01/02/2027", "2027-01-01T09:30", "soon"]) {
    assert.throws(() => parseExpiry(bad, now), /not an ISO 8601 date/, bad);
  }
  assert.throws(() => parseExpiry("2026-01-01", now), /not in the future/);
  assert.deepEqual(parsePermissions("contacts:write, contacts:read,contacts:write"), [
    "contacts:write",
    "contacts:read",
  ]);
  assert.throws(() => parsePermissions("contacts:admin"), /unknown permission "contacts:admin"/);
  assert.throws(() => parsePermissions(" , "), /no permission/);
});

/** A database the keys CLI reaches by URL, and the gateway that serves it. */
interface Setup {
  url: string;
  owner: Query;
  /** POST link for the tenant's first company with `key`: the status. */
  link(key: string, tenant: Tenant): Promise<number>;
  /** Servers whose output a failure should show. */
  servers: DevProcess[];
}

/** POST link on the dev server listening on `port`. */
function linkOn(port: number) {
  return async (key: string, tenant: Tenant) => {
    const res = await fetch(
      `http://127.0.0.1:${port}/functions/v1/api-gateway/v1/companies/${tenant.companyIds[0]}` +
        "/contacts/link",
      {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ contact_ids: tenant.contactIds }),
      },
    );
    await res.body?.cancel();
    return res.status;
  };
}

/** An owner connection to `url`, as any Postgres client would make one. */
function ownerOf(url: string) {
  const sql = connectPostgres(url, { role: null, max: 1 });
  return { query: postgresJsQuery(sql), close: () => sql.end({ timeout: 1 }) };
}

/** The whole lifecycle, each step answered by the gateway at once. `mistakes`: also every
 * refusal (the same on any database, so run once). */
async function lifecycle(t: Deno.TestContext, db: Setup, mistakes: boolean) {
  const env = { DATABASE_URL: db.url };
  const keys = (...args: string[]) => runKeys(args, env);
  const step = (name: string, body: (t: Deno.TestContext) => Promise<void>) =>
    t.step(name, (inner) => explained(db.servers, () => body(inner)));
  const tenant = await createTenant(db.owner, { companies: 1, contacts: 2 });
  const link = (key: string) => db.link(key, tenant);
  const idOf = async (key: string) =>
    (await db.owner<{ id: string }>("select id from public.api_keys where key_hash = $1", [
      await hashApiKey(key),
    ]))[0].id;
  const create = async (...extra: string[]) => {
    const r = await keys("create", "--org", tenant.orgId, "--name", "CRM sync", ...extra);
    assert.equal(r.code, 0, r.stderr);
    return keyOf(r.stdout);
  };

  let first = "";
  await step("create prints the key once; the gateway accepts it", async () => {
    first = await create("--permissions", "contacts:write", "--expires", "2099-01-01");
    assert.equal(await link(first), 200);
    const [row] = await db.owner<{ name: string; permissions: string[]; expires_at: Date }>(
      "select name, permissions, expires_at from public.api_keys where key_hash = $1",
      [await hashApiKey(first)],
    );
    assert.equal(row.name, "CRM sync");
    assert.deepEqual(row.permissions, ["contacts:write"]);
    assert.equal(new Date(row.expires_at).toISOString(), "2099-01-01T00:00:00.000Z");
  });

  await step("create goes through the API's own function: its description, its limit", async () => {
    const key = await create("--permissions", "contacts:read", "--description", "for the CRM");
    const [row] = await db.owner<{ description: string; prefix: string }>(
      "select description, prefix from public.api_keys where key_hash = $1",
      [await hashApiKey(key)],
    );
    assert.deepEqual(row, { description: "for the CRM", prefix: key.slice(0, 12) });
    await db.owner(
      `update public.orgs set max_api_keys = (select count(*) from public.api_keys
         where org_id = $1 and revoked_at is null and (expires_at is null or expires_at > now()))
       where id = $1`,
      [tenant.orgId],
    );
    try {
      assertRefused(
        await keys(
          "create",
          "--org",
          tenant.orgId,
          "--name",
          "x",
          "--permissions",
          "contacts:read",
        ),
        /as many live keys as it may/,
      );
    } finally {
      await db.owner("update public.orgs set max_api_keys = null where id = $1", [tenant.orgId]);
    }
  });

  await step("the create-key alias still works", async () => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "create-key",
        "--org",
        tenant.orgId,
        "--name",
        "a",
        "--permissions",
        "contacts:read",
      ],
      cwd: REPO,
      env,
      stdout: "piped",
      stderr: "null",
    }).output();
    assert.ok(r.success);
    keyOf(new TextDecoder().decode(r.stdout));
  });

  await step("list shows every field but the hash, and never a plaintext", async () => {
    const json = await keys("list", "--org", tenant.orgId, "--json");
    assert.equal(json.code, 0, json.stderr);
    const listed = JSON.parse(json.stdout) as Record<string, unknown>[];
    const mine = listed.find((k) => k.prefix === prefixOf(first))!;
    assert.deepEqual(Object.keys(mine).sort(), [
      "createdAt",
      "description",
      "expiresAt",
      "id",
      "lastUsedAt",
      "name",
      "orgId",
      "permissions",
      "prefix",
      "revokedAt",
    ]);
    assert.ok(mine.lastUsedAt, "last used is recorded by the request above");
    const table = await keys("list", "--org", tenant.orgId);
    assert.match(
      table.stdout.split("\n")[0],
      /^id\s+prefix\s+name\s+permissions\s+created\s+last used\s+expires\s+revoked$/,
    );
    assert.ok(table.stdout.includes(prefixOf(first)));
    const hashes = await db.owner<{ key_hash: string }>(
      "select key_hash from public.api_keys where org_id = $1",
      [tenant.orgId],
    );
    for (const out of [json.stdout, table.stdout]) {
      assert.ok(!out.includes(first), "no plaintext");
      for (const { key_hash } of hashes) assert.ok(!out.includes(key_hash), "no hash");
    }
  });

  let second = "";
  await step("rotate with a grace period: both keys work until it ends; expiry kept", async () => {
    const r = await keys("rotate", prefixOf(first), "--grace", "1h");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /expires 2099-01-01T00:00:00Z, as the old one/);
    second = keyOf(r.stdout);
    assert.notEqual(second, first);
    assert.equal(await link(first), 200);
    assert.equal(await link(second), 200);
    const [old] = await db.owner<{ in_grace: boolean }>(
      `select expires_at between now() + interval '59 minutes' and now() + interval '61 minutes'
         and revoked_at is null as in_grace
       from public.api_keys where key_hash = $1`,
      [await hashApiKey(first)],
    );
    assert.ok(old.in_grace, "expires_at = now() + 1h (its own expiry was later)");
    const [fresh] = await db.owner<
      { name: string; permissions: string[]; org_id: string; expires_at: Date }
    >(
      "select name, permissions, org_id, expires_at from public.api_keys where key_hash = $1",
      [await hashApiKey(second)],
    );
    assert.deepEqual({ ...fresh, expires_at: new Date(fresh.expires_at).toISOString() }, {
      name: "CRM sync",
      permissions: ["contacts:write"],
      org_id: tenant.orgId,
      expires_at: "2099-01-01T00:00:00.000Z",
    }, "the new key inherits the old one's expiry");
  });

  await step("rotate --expires gives the new key that expiry instead", async () => {
    const key = await create("--permissions", "contacts:write", "--expires", "2098-01-01");
    const r = await keys("rotate", await idOf(key), "--expires", "2097-06-01");
    assert.equal(r.code, 0, r.stderr);
    const [row] = await db.owner<{ expires_at: Date }>(
      "select expires_at from public.api_keys where key_hash = $1",
      [await hashApiKey(keyOf(r.stdout))],
    );
    assert.equal(new Date(row.expires_at).toISOString(), "2097-06-01T00:00:00.000Z");
  });

  await step("rotate without grace: the old key is refused from the next request", async (t) => {
    const id = await idOf(second);
    const r = await keys("rotate", id);
    assert.equal(r.code, 0, r.stderr);
    const third = keyOf(r.stdout);
    assert.equal(await link(second), 401);
    assert.equal(await link(third), 200);

    await t.step("revoke by prefix: refused from the next request", async () => {
      const revoked = await keys("revoke", prefixOf(third));
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.equal(await link(third), 401);
    });
    await t.step("revoke ends a grace period early", async () => {
      assert.equal(await link(first), 200);
      assert.equal((await keys("revoke", prefixOf(first))).code, 0);
      assert.equal(await link(first), 401);
    });
  });

  await step("a revoked or expired key is not rotated: one line, nothing changed", async () => {
    // Rotated without grace: it expired then.
    const rotated = await idOf(second);
    const { id: revoked } = await createApiKey(db.owner, {
      orgId: tenant.orgId,
      name: "gone",
      permissions: ["contacts:read"],
      revokedAt: new Date(Date.now() - 60_000),
    });
    const { id: expired } = await createApiKey(db.owner, {
      orgId: tenant.orgId,
      name: "old",
      permissions: ["contacts:read"],
      expiresAt: new Date(Date.now() - 60_000),
    });
    const state = () =>
      db.owner<{ id: string; revoked_at: Date | null; expires_at: Date | null }>(
        "select id, revoked_at, expires_at from public.api_keys where org_id = $1 order by id",
        [tenant.orgId],
      );
    const before = await state();
    assertRefused(await keys("rotate", revoked), /is already revoked: nothing to rotate/);
    assertRefused(await keys("rotate", rotated), /has expired: nothing to rotate/);
    assertRefused(await keys("rotate", expired), /has expired: nothing to rotate/);
    assertRefused(
      await keys("rotate", expired, "--expires", "2099-01-01"),
      /has expired: nothing to rotate/,
    );
    assert.deepEqual(await state(), before);
  });

  if (!mistakes) return;
  await step("every mistake: one line on stderr, a non-zero exit, nothing done", async (t) => {
    const before = await db.owner<{ n: number }>(
      "select count(*)::int as n from public.api_keys",
      [],
    );
    // Two keys that share a display prefix, to make a prefix ambiguous.
    for (const suffix of ["a1", "a2"]) {
      await db.owner(
        `insert into public.api_keys (org_id, name, key_hash, prefix, permissions)
         values ($1, 'twin', $2, $3, '{contacts:read}')`,
        [tenant.orgId, await hashApiKey(crypto.randomUUID()), `wbk_ZzZzZz${suffix}`],
      );
    }
    const org = ["--org", tenant.orgId];
    const createRead = ["create", ...org, "--name", "x", "--permissions", "contacts:read"];
    const cases: [string[], RegExp][] = [
      [
        ["create", "--org", crypto.randomUUID(), "--name", "x", "--permissions", "contacts:read"],
        /unknown org/,
      ],
      [
        ["create", "--org", "not-a-uuid", "--name", "x", "--permissions", "contacts:read"],
        /unknown org/,
      ],
      [
        ["create", ...org, "--name", "x", "--permissions", "contacts:read,contacts:admin"],
        /unknown permission "contacts:admin"/,
      ],
      [[...createRead, "--expires", "2027-02-30"], /not an ISO 8601 date/],
      [[...createRead, "--expires", "2001-01-01"], /not in the future/],
      [["create", ...org, "--permissions", "contacts:read"], /missing --name/],
      [
        [...createRead.slice(0, 3), "--name", "n".repeat(121), ...createRead.slice(5)],
        /longer than 120/,
      ],
      [["create", ...org, "--name", "x"], /missing --permissions/],
      [["list"], /missing --org/],
      [["list", "--org", crypto.randomUUID()], /unknown org/],
      [["rotate", prefixOf(first), "--grace", "2 days"], /not a duration/],
      [["rotate", prefixOf(first), "--grace", "1w"], /not a duration/],
      [["revoke", "wbk_ZzZzZz"], /ambiguous/],
      [["revoke", "wbk_00000000"], /no key has the id or prefix/],
      [["revoke", crypto.randomUUID()], /no key has the id or prefix/],
      [["revoke", "hello"], /neither a key id/],
      [["revoke"], /takes one key id or prefix/],
      [["revoke", "--org", tenant.orgId, prefixOf(first)], /does not apply/],
      [["list", "--org", tenant.orgId, "--data-dir", "x"], /data-dir/],
      [["frobnicate"], /unknown command/],
      [[], /no command/],
      [["list", "--bogus"], /bogus/],
    ];
    for (const [args, reason] of cases) {
      await t.step(args.join(" ") || "(nothing)", async () => {
        assertRefused(await keys(...args), reason);
      });
    }
    const after = await db.owner<{ n: number }>(
      "select count(*)::int as n from public.api_keys",
      [],
    );
    assert.equal(after[0].n, before[0].n + 2, "only the two twins were added");
  });

  await step("no database, or one that cannot be reached: one line", async () => {
    assertRefused(await runKeys(["list", "--org", tenant.orgId]), /set DATABASE_URL/);
    const url = `postgresql://postgres@127.0.0.1:${freePort()}/postgres`;
    assertRefused(
      await runKeys(["list", "--org", tenant.orgId], { DATABASE_URL: url }),
      /cannot reach Postgres at 127\.0\.0\.1/,
    );
    assertRefused(
      await runKeys(["list", "--org", tenant.orgId], { DATABASE_URL: "not a url" }),
      /DATABASE_URL is not a connection URL/,
    );
  });
}

Deno.test({
  name: "keys: the lifecycle against a Postgres DATABASE_URL; the gateway follows at once",
  ...targetTestOptions("postgres"),
}, async (t) => {
  const target = await getTarget("postgres");
  try {
    const { app } = buildApp(target.db);
    await lifecycle(t, {
      url: target.url!,
      owner: target.owner,
      servers: [],
      link: async (key, tenant) => {
        const res = await app.request(
          `/api-gateway/v1/companies/${tenant.companyIds[0]}/contacts/link`,
          {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify({ contact_ids: tenant.contactIds }),
          },
        );
        await res.body?.cancel();
        return res.status;
      },
    }, false);
  } finally {
    await target.close();
  }
});

Deno.test({
  name: "keys: the lifecycle against the URL an in-memory `deno task dev` prints, while it serves",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const port = freePort();
  const dev = spawnDev(port);
  let owner: ReturnType<typeof ownerOf> | undefined;
  try {
    await explained([dev], () => dev.ready());
    await t.step(
      "a key minted against the printed URL works at once; psql reads it",
      () =>
        explained([dev], async () => {
          await mintAndUse(dev, port);
        }),
    );
    const url = dev.databaseUrl();
    owner = ownerOf(url);
    await lifecycle(t, { url, owner: owner.query, servers: [dev], link: linkOn(port) }, true);
  } finally {
    await owner?.close();
    await dev.stop();
  }
});

/** The demo org, its company and contacts as the banner's curl names them. */
function demoTenant(dev: DevProcess): Tenant {
  const banner = dev.stdout.text;
  return {
    orgId: dev.demoOrgId(),
    companyIds: [banner.match(/companies\/([0-9a-f-]{36})\/contacts\/link/)![1]],
    contactIds: JSON.parse(banner.match(/^ {2}-d '(.*)'$/m)![1]).contact_ids,
  } as Tenant;
}

/** Mints a key with `deno task keys create` against the URL `dev` printed, uses it on `dev`, and
 * finds it with psql through the same URL. */
async function mintAndUse(dev: DevProcess, port: number) {
  const url = dev.databaseUrl();
  const orgId = dev.demoOrgId();
  const r = await runKeys(
    ["create", "--org", orgId, "--name", "minted while it runs", "--permissions", "contacts:write"],
    { DATABASE_URL: url },
  );
  assert.equal(r.code, 0, r.stderr);
  const key = keyOf(r.stdout);
  assert.equal(await linkOn(port)(key, demoTenant(dev)), 200, "the new key works at once");
  const psql = await new Deno.Command("psql", {
    args: [url, "-X", "-Atc", `select name from public.api_keys where prefix = '${prefixOf(key)}'`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert.ok(psql.success, dec.decode(psql.stderr));
  assert.equal(dec.decode(psql.stdout).trim(), "minted while it runs");
  return key;
}

/** The org's demo keys that still work (not revoked, not expired), by the database's clock. */
async function liveDemoKeys(url: string, orgId: string): Promise<string[]> {
  const r = await runKeys(["list", "--org", orgId, "--json"], { DATABASE_URL: url });
  assert.equal(r.code, 0, r.stderr);
  const now = Date.now();
  return (JSON.parse(r.stdout) as {
    name: string;
    prefix: string;
    revokedAt: string | null;
    expiresAt: string | null;
  }[]).filter((k) =>
    k.name.startsWith("deno task dev ") &&
    (k.revokedAt === null || Date.parse(k.revokedAt) > now) &&
    (k.expiresAt === null || Date.parse(k.expiresAt) > now)
  ).map((k) => k.prefix);
}

Deno.test({
  name: "keys: with --data-dir, keys minted through the printed URL work at once and survive; " +
    "after any number of starts, at most one live demo key",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "gateway-dev-data-" });
  const port = freePort();
  // Launched directly: a SIGKILL then reaches the server itself (through `deno task`, the server
  // would see its launcher gone and stop cleanly).
  const start = async () => {
    const dev = spawnDev(port, { args: ["--data-dir", dir], launcher: "direct" });
    await explained([dev], () => dev.ready());
    return dev;
  };
  let dev = await start();
  const step = (name: string, body: () => Promise<void>) =>
    t.step(name, () => explained([dev], body));
  try {
    let minted = "";
    const firstDemo = dev.key();
    const orgId = dev.demoOrgId();
    await step("a key minted against the printed URL works on the running server", async () => {
      minted = await mintAndUse(dev, port);
    });

    await step("a second dev server on the same directory is refused", async () => {
      const other = spawnDev(freePort(), { args: ["--data-dir", dir] });
      const status = await other.status;
      await other.stop();
      assert.equal(status.code, 1, other.output());
      assert.match(other.stderr.text, /is in use by another dev server/);
    });

    await step(
      "stopped cleanly, then started again: the demo key was revoked at stop",
      async () => {
        await dev.stop("SIGTERM");
        assert.ok(!portTaken(port));
        assert.ok(
          dev.stdout.text.trimEnd().endsWith(
            `\nstopped (SIGTERM): the demo key ${prefixOf(firstDemo)}… revoked; ` +
              `the database closed and kept in ${dir}`,
          ),
          dev.output(),
        );
        dev = await start();
        assert.match(dev.stdout.text, /^database: opening PGlite in .*\.\.\. \d+\.\d s$/m);
        assert.doesNotMatch(dev.stdout.text, /migrating|creating PGlite/);
        const relink = (key: string) => linkOn(port)(key, demoTenant(dev));
        assert.equal(await relink(minted), 200, "the minted key survived the restart");
        assert.equal(await relink(firstDemo), 401, "the first demo key is revoked");
        assert.equal(await relink(dev.key()), 200);
        assert.deepEqual(await liveDemoKeys(dev.databaseUrl(), orgId), [prefixOf(dev.key())]);
      },
    );

    await step("killed, then started again: the new start revokes the one left live", async () => {
      const killed = dev.key();
      await dev.stop("SIGKILL");
      assert.deepEqual(
        await (async () => {
          dev = await start();
          return await liveDemoKeys(dev.databaseUrl(), orgId);
        })(),
        [prefixOf(dev.key())],
        `only the new demo key lives, not ${prefixOf(killed)}`,
      );
    });
  } finally {
    await dev.stop("SIGTERM");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test({
  name:
    "keys: with DATABASE_URL, the printed URL is that Postgres; the demo key dies with the server",
  ...targetTestOptions("postgres"),
}, async () => {
  const target = await getTarget("postgres");
  const port = freePort();
  const dev = spawnDev(port, { env: { DATABASE_URL: target.url! } });
  try {
    await explained([dev], async () => {
      await dev.ready();
      assert.equal(dev.databaseUrl(), target.url!.replace(/^postgres:/, "postgresql:"));
      await mintAndUse(dev, port);
      const [{ soon }] = await target.owner<{ soon: boolean }>(
        `select expires_at between now() and now() + interval '15 minutes' as soon
         from public.api_keys where key_hash = $1`,
        [await hashApiKey(dev.key())],
      );
      assert.ok(soon, "a crash would leave a key that dies within 15 minutes");
      const demo = dev.key();
      await dev.stop("SIGTERM");
      assert.match(
        dev.stdout.text,
        /\nstopped \(SIGTERM\): the demo key wbk_\w{8}… revoked; the connections to Postgres at \S+ closed, its data untouched\n$/,
      );
      const [{ revoked }] = await target.owner<{ revoked: boolean }>(
        "select revoked_at <= now() as revoked from public.api_keys where key_hash = $1",
        [await hashApiKey(demo)],
      );
      assert.ok(revoked, "revoked at a clean stop");
    });
  } finally {
    await dev.stop();
    await target.close();
  }
});

Deno.test({
  name: "keys: a password in DATABASE_URL is never printed, connected or refused",
  ...targetTestOptions("postgres"),
}, async (t) => {
  const target = await getTarget("postgres");
  // The test servers trust loopback connections, so any password connects.
  const secret = `pw-${crypto.randomUUID()}`;
  const withPassword = target.url!.replace("://postgres@", `://postgres:${secret}@`);
  assert.ok(withPassword.includes(secret));
  try {
    await t.step("connected: the banner shows the URL with *** for it", async () => {
      const port = freePort();
      const dev = spawnDev(port, { env: { DATABASE_URL: withPassword } });
      await explained([dev], async () => {
        const printed = await dev.ready();
        assert.equal(await linkOn(port)(dev.key(), demoTenant(dev)), 200, "it connected");
        await dev.stop("SIGTERM");
        assert.ok(!dev.output().includes(secret), "the password is printed nowhere");
        assert.match(printed, /^database: postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:/m);
        assert.match(printed, /keys list --org \S+ {3}\(with the DATABASE_URL given here\)$/m);
        assert.match(printed, /^psql "\$DATABASE_URL"$/m);
      }).finally(() => dev.stop());
    });
    await t.step("refused: one line, without it", async () => {
      // A server that is not there, and a parameter postgres.js does not take (libpq's
      // password=): each is refused before anything is served.
      const refused = [
        withPassword.replace(/:(\d+)\//, `:${freePort()}/`),
        `${target.url!}&password=${secret}`,
      ];
      for (const url of refused) {
        const dev = spawnDev(freePort(), { env: { DATABASE_URL: url } });
        const status = await dev.status;
        await dev.stop();
        assert.equal(status.code, 1, dev.output());
        assert.ok(!dev.output().includes(secret), dev.output());
        assert.match(dev.stderr.text, /cannot reach DATABASE_URL \(127\.0\.0\.1:\d+\)/);
      }
    });
  } finally {
    await target.close();
  }
});
