import assert from "node:assert/strict";
import { parseDuration, parseExpiry, parsePermissions } from "../../local/api_keys.ts";
import { hashApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";
import { buildApp } from "../harness/app.ts";
import { portTaken, REPO, runKeys, spawnDev } from "../harness/dev_server.ts";
import { createTenant } from "../harness/fixtures.ts";
import { freePort } from "../../local/net.ts";
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

Deno.test({
  name: "keys: create, list, rotate, revoke against DATABASE_URL; the gateway follows at once",
  ...targetTestOptions("postgres"),
}, async (t) => {
  const target = await getTarget("postgres");
  const env = { DATABASE_URL: target.url! };
  const keys = (...args: string[]) => runKeys(args, env);
  try {
    const tenant = await createTenant(target.owner, { companies: 1, contacts: 2 });
    const { app } = buildApp(target.db);
    const link = async (key: string) => {
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
    };
    const create = async (...extra: string[]) => {
      const r = await keys("create", "--org", tenant.orgId, "--name", "CRM sync", ...extra);
      assert.equal(r.code, 0, r.stderr);
      return keyOf(r.stdout);
    };

    let first = "";
    await t.step("create prints the key once; the gateway accepts it", async () => {
      first = await create("--permissions", "contacts:write", "--expires", "2099-01-01");
      assert.equal(await link(first), 200);
      const [row] = await target.owner<{ name: string; permissions: string[]; expires_at: Date }>(
        "select name, permissions, expires_at from public.api_keys where key_hash = $1",
        [await hashApiKey(first)],
      );
      assert.equal(row.name, "CRM sync");
      assert.deepEqual(row.permissions, ["contacts:write"]);
      assert.equal(new Date(row.expires_at).toISOString(), "2099-01-01T00:00:00.000Z");
    });

    await t.step("the create-key alias still works", async () => {
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

    await t.step("list shows every field but the hash, and never a plaintext", async () => {
      const json = await keys("list", "--org", tenant.orgId, "--json");
      assert.equal(json.code, 0, json.stderr);
      const listed = JSON.parse(json.stdout) as Record<string, unknown>[];
      const mine = listed.find((k) => k.prefix === prefixOf(first))!;
      assert.deepEqual(Object.keys(mine).sort(), [
        "createdAt",
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
      const hashes = await target.owner<{ key_hash: string }>(
        "select key_hash from public.api_keys where org_id = $1",
        [tenant.orgId],
      );
      for (const out of [json.stdout, table.stdout]) {
        assert.ok(!out.includes(first), "no plaintext");
        for (const { key_hash } of hashes) assert.ok(!out.includes(key_hash), "no hash");
      }
    });

    let second = "";
    await t.step("rotate with a grace period: both keys work until it ends", async () => {
      const r = await keys("rotate", prefixOf(first), "--grace", "1h");
      assert.equal(r.code, 0, r.stderr);
      second = keyOf(r.stdout);
      assert.notEqual(second, first);
      assert.equal(await link(first), 200);
      assert.equal(await link(second), 200);
      const [old] = await target.owner<{ in_grace: boolean }>(
        `select revoked_at between now() + interval '59 minutes' and now() + interval '61 minutes'
           as in_grace
         from public.api_keys where key_hash = $1`,
        [await hashApiKey(first)],
      );
      assert.ok(old.in_grace, "revoked_at = now() + 1h");
      const [fresh] = await target.owner<{ name: string; permissions: string[]; org_id: string }>(
        "select name, permissions, org_id from public.api_keys where key_hash = $1",
        [await hashApiKey(second)],
      );
      assert.deepEqual(fresh, {
        name: "CRM sync",
        permissions: ["contacts:write"],
        org_id: tenant.orgId,
      });
    });

    await t.step(
      "rotate without grace: the old key is refused from the next request",
      async (t) => {
        const [{ id }] = await target.owner<{ id: string }>(
          "select id from public.api_keys where key_hash = $1",
          [await hashApiKey(second)],
        );
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
        await t.step("a revoked key cannot be rotated", async () => {
          assertRefused(await keys("rotate", id), /already revoked/);
        });
      },
    );

    await t.step("every mistake: one line on stderr, a non-zero exit, nothing done", async (t) => {
      const before = await target.owner<{ n: number }>(
        "select count(*)::int as n from public.api_keys",
        [],
      );
      // Two keys that share a display prefix, to make a prefix ambiguous.
      for (const suffix of ["a1", "a2"]) {
        await target.owner(
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
        [["frobnicate"], /unknown command/],
        [[], /no command/],
        [["list", "--bogus"], /bogus/],
      ];
      for (const [args, reason] of cases) {
        await t.step(args.join(" ") || "(nothing)", async () => {
          assertRefused(await keys(...args), reason);
        });
      }
      const after = await target.owner<{ n: number }>(
        "select count(*)::int as n from public.api_keys",
        [],
      );
      assert.equal(after[0].n, before[0].n + 2, "only the two twins were added");
    });

    await t.step("no database, or one that cannot be reached: one line", async () => {
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
  } finally {
    await target.close();
  }
});

Deno.test({
  name: "keys: against a --data-dir dev database, running or stopped; it survives restarts",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "gateway-dev-data-" });
  const port = freePort();
  const keys = (...args: string[]) => runKeys(["--data-dir", dir, ...args]);
  let dev = spawnDev(port, { args: ["--data-dir", dir] });
  try {
    const banner = await dev.ready();
    const orgId = banner.match(/keys: npx --yes deno@\S+ task keys --data-dir \S+ list --org (\S+)/)
      ?.[1];
    assert.ok(orgId, `the banner names the keys command:\n${banner}`);
    const url = banner.match(/^curl -sS -X POST (\S+) \\$/m)![1]
      .replace("localhost", "127.0.0.1");
    const body = banner.match(/^ {2}-d '(.*)'$/m)![1];
    const link = async (key: string) => {
      const res = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body,
      });
      await res.body?.cancel();
      return res.status;
    };
    const demo = dev.key();
    assert.equal(await link(demo), 200);

    let created = "";
    let graced = "";
    await t.step("through the running dev server: create, rotate, revoke", async () => {
      const r = await keys(
        "create",
        "--org",
        orgId,
        "--name",
        "sync",
        "--permissions",
        "contacts:write",
      );
      assert.equal(r.code, 0, r.stderr);
      created = keyOf(r.stdout);
      assert.equal(await link(created), 200);

      const rotated = await keys("rotate", prefixOf(created));
      assert.equal(rotated.code, 0, rotated.stderr);
      const next = keyOf(rotated.stdout);
      assert.equal(await link(created), 401, "refused from the next request");
      assert.equal(await link(next), 200);

      assert.equal((await keys("revoke", prefixOf(next))).code, 0);
      assert.equal(await link(next), 401);

      const grace = await keys("rotate", prefixOf(demo), "--grace", "1h");
      assert.equal(grace.code, 0, grace.stderr);
      graced = keyOf(grace.stdout);
      assert.equal(await link(demo), 200, "in its grace period");
      assert.equal(await link(graced), 200);
    });

    await t.step("a second dev server on the same directory is refused", async () => {
      const other = spawnDev(freePort(), { args: ["--data-dir", dir] });
      const status = await other.status;
      await other.stop();
      assert.equal(status.code, 1);
      assert.match(other.stderr.text, /is in use by another dev server/);
    });

    await t.step("stopped: keys opens the directory itself", async () => {
      await dev.stop("SIGTERM");
      assert.ok(!portTaken(port));
      const list = await keys("list", "--org", orgId, "--json");
      assert.equal(list.code, 0, list.stderr);
      const prefixes = (JSON.parse(list.stdout) as { prefix: string }[]).map((k) => k.prefix);
      for (const k of [demo, created, graced]) assert.ok(prefixes.includes(prefixOf(k)));
      assert.equal((await keys("revoke", prefixOf(demo))).code, 0);
    });

    await t.step("restarted: the keys and their states survived", async () => {
      dev = spawnDev(port, { args: ["--data-dir", dir] });
      const again = await dev.ready();
      assert.match(again, /^database: opening PGlite in .*\.\.\. \d+\.\d s$/m);
      assert.doesNotMatch(again, /migrating|creating PGlite/);
      assert.equal(await link(graced), 200);
      assert.equal(await link(demo), 401, "revoked while the server was down");
      assert.equal(await link(created), 401);
      assert.equal(await link(dev.key()), 200);
    });

    await t.step("no dev database in the directory: one line", async () => {
      const empty = await Deno.makeTempDir();
      try {
        assertRefused(
          await runKeys(["--data-dir", empty, "list", "--org", orgId]),
          /no dev database in/,
        );
      } finally {
        await Deno.remove(empty, { recursive: true });
      }
    });
  } finally {
    await dev.stop("SIGTERM");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
