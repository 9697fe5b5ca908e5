// GET /v1/api-keys: its declaration for the shared suites, and its own HTTP contract: metadata
// only (the body scanned for every key and hash), the org's keys alone, include_revoked, search
// with % and _ taken literally, pages.
import assert from "node:assert/strict";
import { listApiKeys } from "../../supabase/functions/api-gateway/routes/list_api_keys.ts";
import { hashApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";
import { assertNoSecrets } from "../harness/app.ts";
import { assertListedKey } from "../harness/api_keys.ts";
import { allKeys, createTenant, type Tenant } from "../harness/fixtures.ts";
import { send } from "../harness/http.ts";
import { defineRouteTest } from "../harness/route_tests.ts";
import { createApiKey } from "../../local/api_keys.ts";

type Page = {
  data: Record<string, unknown>[];
  meta: { page: number; per_page: number; total: number };
};

const ADMIN = "admin:api_keys";

/** Every plaintext key of the tenants and its hash: none may be in a list's body. */
const secretsOf = async (...tenants: Tenant[]) => {
  const keys = allKeys(...tenants);
  return [...keys, ...await Promise.all(keys.map(hashApiKey))];
};

export default defineRouteTest({
  endpoint: listApiKeys,
  valid: () => ({ params: {}, query: { page: "1", per_page: "50" } }),
  invalid: () => ({ params: {}, query: { per_page: "0" } }),
  ok: (json, self) => {
    const page = json as Page;
    assert.equal(page.meta.page, 1);
    assert.equal(page.meta.per_page, 50);
    assert.equal(page.data.length, Math.min(page.meta.total, 50));
    for (const k of page.data) assertListedKey(k);
    assert.ok(page.data.some((k) => k.id === self.keyIds[self.keys.all]), "self's key listed");
    assert.ok(!page.data.some((k) => k.id === self.keyIds[self.keys.revoked]), "not revoked ones");
  },
  sqlData: { keys: [], total: 0, has_more: false },
  writes: false,
  crossOrg: (_self, other) => [{
    name: "another org's keys are never listed",
    params: {},
    query: { include_revoked: "true", per_page: "100" },
    status: 200,
    check: (json) => {
      const ids = (json as Page).data.map((k) => k.id);
      assert.ok(Object.values(other.keyIds).every((id) => !ids.includes(id)));
    },
  }],
  property: {
    // Only the key's org's keys, metadata only.
    async check200({ target, tenant }, json) {
      const page = json as Page;
      for (const k of page.data) assertListedKey(k);
      const rows = await target.owner<{ id: string }>(
        "select id from public.api_keys where id = any($1::uuid[]) and org_id <> $2",
        [page.data.map((k) => k.id as string), tenant.orgId],
      );
      assert.equal(rows.length, 0, "another org's key listed");
    },
  },

  async contract(t, { target, build }) {
    const { app } = build();
    const a = await createTenant(target.owner);
    const b = await createTenant(target.owner);
    const key = a.keys.only[ADMIN];
    const list = (query = "") => send(app, "GET", `/api-gateway/v1/api-keys${query}`, { key });
    const names = async (query: string) => {
      const res = await list(query);
      assert.equal(res.status, 200, res.text);
      return (res.json as Page).data.map((k) => k.name);
    };

    await t.step("metadata only: no key and no hash of either org in the body", async () => {
      const res = await list("?include_revoked=true&per_page=100");
      assert.equal(res.status, 200, res.text);
      const page = res.json as Page;
      for (const k of page.data) assertListedKey(k);
      assertNoSecrets([res.text], await secretsOf(a, b));
      assert.ok(!/wbk_[0-9A-Za-z]{13,}/.test(res.text), "nothing longer than a prefix");
      assert.ok(!/[0-9a-f]{64}/.test(res.text), "nothing shaped like a hash");
      assert.ok(!res.text.includes("key_hash"));
      // Every key of a, and only a's.
      assert.deepEqual(
        page.data.map((k) => k.id).sort(),
        Object.values(a.keyIds).sort(),
      );
      assert.equal(page.meta.total, Object.keys(a.keyIds).length);
    });

    await t.step("revoked keys only with include_revoked; expired ones are listed", async () => {
      const ids = ((await list("?per_page=100")).json as Page).data.map((k) => k.id);
      assert.ok(!ids.includes(a.keyIds[a.keys.revoked]));
      assert.ok(ids.includes(a.keyIds[a.keys.expired]));
      const all = ((await list("?per_page=100&include_revoked=true")).json as Page).data;
      const revoked = all.find((k) => k.id === a.keyIds[a.keys.revoked])!;
      assert.ok(revoked.revoked_at);
      for (const bad of ["yes", "TRUE", ""]) {
        const res = await list(`?include_revoked=${bad}`);
        assert.equal(res.status, 400, bad);
        assert.equal(res.json.error.details[0].path, "include_revoked");
      }
    });

    await t.step("oldest first by created_at then id; last_used_at shows a use", async () => {
      await target.owner(
        "update public.api_keys set created_at = now() - interval '1 day' where id = $1",
        [a.keyIds[a.keys.all]],
      );
      const page = (await list("?per_page=100")).json as Page;
      assert.equal(page.data[0].id, a.keyIds[a.keys.all]);
      const created = page.data.map((k) => `${k.created_at} ${k.id}`);
      assert.deepEqual(created, [...created].sort());
      const self = page.data.find((k) => k.id === a.keyIds[key])!;
      assert.ok(self.last_used_at, "the calling key's use is recorded");
    });

    await t.step("search: name or description, any case, % and _ literally", async () => {
      const mint = (name: string, description: string | null = null) =>
        createApiKey(target.owner, { orgId: a.orgId, name, permissions: [ADMIN] }).then(
          ({ id }) =>
            target.owner("update public.api_keys set description = $2 where id = $1", [
              id,
              description,
            ]),
        );
      await mint("100% Sync");
      await mint("1000 sync");
      await mint("a_b");
      await mint("axb");
      await mint("plain", "for the CRM's Nightly import");
      assert.deepEqual(await names("?search=%25"), ["100% Sync"]);
      assert.deepEqual(await names("?search=0%25"), ["100% Sync"]);
      assert.deepEqual(await names("?search=_"), ["a_b"]);
      assert.deepEqual(await names("?search=a_b"), ["a_b"]);
      assert.deepEqual((await names("?search=SYNC")).sort(), ["100% Sync", "1000 sync"]);
      assert.deepEqual(await names("?search=nightly"), ["plain"]);
      assert.deepEqual(await names("?search=nothing%20like%20it"), []);
      const res = await list("?search=_");
      assert.equal(res.json.meta.total, 1, "total counts the matches");
      assert.equal((await list(`?search=${"x".repeat(201)}`)).status, 400);
    });

    await t.step("pages: 25 by default, at most 100, total stays", async () => {
      const first = await list();
      assert.equal(first.json.meta.per_page, 25);
      const total = first.json.meta.total;
      const one = (await list("?per_page=1&page=2")).json as Page;
      assert.equal(one.data.length, 1);
      assert.equal(one.meta.total, total);
      assert.deepEqual((await list(`?page=${total + 1}&per_page=1`)).json.data, []);
      assert.equal((await list("?per_page=101")).status, 400);
    });

    await t.step("scopes are exact: every other permission together is 403", async () => {
      const res = await send(app, "GET", "/api-gateway/v1/api-keys", {
        key: a.keys.without[ADMIN],
      });
      assert.equal(res.status, 403);
      assert.match(res.json.error.message, /admin:api_keys/);
    });
  },
});
