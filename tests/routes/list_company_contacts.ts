// The list endpoint: its declaration for the shared suites, and its own HTTP contract.
import assert from "node:assert/strict";
import { listCompanyContacts } from "../../supabase/functions/api-gateway/routes/list_company_contacts.ts";
import { DEFAULT_PER_PAGE, MAX_PER_PAGE } from "../../supabase/functions/api-gateway/limits.ts";
import { MAX_OFFSET } from "../../supabase/functions/api-gateway/kit/cursor.ts";
import { createTenant, databaseDigest, type Tenant } from "../harness/fixtures.ts";
import { routePath, send } from "../harness/http.ts";
import { defineRouteTest } from "../harness/route_tests.ts";

const MISSING = "00000000-0000-4000-8000-00000000cafe";
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

type Page = {
  data: {
    id: string;
    full_name: string | null;
    email: string | null;
    company_id: string;
    created_at: string;
    updated_at: string;
  }[];
  meta: {
    page?: number;
    per_page: number;
    total?: number;
    has_more: boolean;
    next_cursor: string | null;
  };
};

/** A page's shape, and that every contact on it is `tenant`'s and linked to `companyId`. */
function assertPage(json: unknown, tenant: Tenant, companyId: string) {
  const page = json as Page;
  assert.deepEqual(Object.keys(page).sort(), ["data", "meta"]);
  assert.deepEqual(
    Object.keys(page.meta).sort(),
    "total" in page.meta
      ? ["has_more", "next_cursor", "page", "per_page", "total"]
      : ["has_more", "next_cursor", "per_page"],
  );
  assert.equal(page.meta.has_more, page.meta.next_cursor !== null);
  assert.ok(page.data.length <= page.meta.per_page);
  for (const c of page.data) {
    assert.deepEqual(
      Object.keys(c).sort(),
      ["company_id", "created_at", "email", "full_name", "id", "updated_at"],
    );
    assert.ok(tenant.contactIds.includes(c.id), "only the org's own contacts");
    assert.equal(c.company_id, companyId);
    assert.match(c.created_at, ISO_UTC);
    assert.match(c.updated_at, ISO_UTC);
  }
}

export default defineRouteTest({
  endpoint: listCompanyContacts,
  valid: (self) => ({ params: { id: self.companyIds[0] }, query: { page: "1", per_page: "50" } }),
  ok: (json) => {
    const page = json as Page;
    assert.equal(page.meta.page, 1);
    assert.equal(page.meta.per_page, 50);
    assert.equal(page.data.length, Math.min(page.meta.total!, 50));
  },
  sqlData: { contacts: [], total: 0, has_more: false },
  writes: false,
  crossOrg: (_self, other) => [
    {
      name: "another org's company in the path",
      params: { id: other.companyIds[0] },
      status: 404,
      code: "company_not_found",
    },
  ],
  property: {
    // The page asked for, of the key's own org's contacts at the company in the path. A cursor
    // the suite could send is one of the route's own (any other is refused): its page is checked
    // by tests/app/cursor_pages.test.ts.
    async check200({ target, tenant, sent }, json) {
      const url = new URL(sent.path, "http://x");
      const company = /\/companies\/([^/]+)\/contacts$/.exec(decodeURIComponent(url.pathname))![1]
        .toLowerCase();
      assertPage(json, tenant, company);
      const { data, meta } = json as Page;
      if (url.searchParams.has("cursor")) return;
      const [{ n }] = await target.owner<{ n: number }>(
        "select count(*)::int as n from public.contacts where org_id = $1 and company_id = $2",
        [tenant.orgId, company],
      );
      const page = Number(url.searchParams.get("page") ?? 1);
      const perPage = Number(url.searchParams.get("per_page") ?? DEFAULT_PER_PAGE);
      assert.ok((page - 1) * perPage <= MAX_OFFSET, "a deep offset was served");
      const length = Math.max(0, Math.min(perPage, n - (page - 1) * perPage));
      assert.equal(data.length, length);
      assert.deepEqual({ ...meta, next_cursor: meta.next_cursor !== null }, {
        page,
        per_page: perPage,
        total: n,
        has_more: n > page * perPage,
        next_cursor: n > page * perPage,
      });
    },
  },

  async contract(t, { target, build }) {
    const { app } = build();
    const a = await createTenant(target.owner, { companies: 2, contacts: 7 });
    const b = await createTenant(target.owner, { companies: 1, contacts: 3 });
    const [c1, c2] = a.companyIds;
    const list = (companyId: string, query = "", key: string | null = a.keys.read) =>
      send(app, "GET", `${routePath(listCompanyContacts, { id: companyId })}${query}`, { key });

    // Six of a's contacts at c1, created one second apart in reverse id order (so the order by
    // created_at is visible), two sharing a created_at (so the tie-break by id is too); one at c2.
    const at1 = [...a.contactIds.slice(0, 6)].reverse();
    for (const [i, id] of at1.entries()) {
      const second = i === 5 ? 4 : i;
      await target.owner(
        `update public.contacts set company_id = $1,
           created_at = timestamptz '2030-01-01 00:00:00+00' + make_interval(secs => $2)
         where id = $3`,
        [c1, second, id],
      );
    }
    await target.owner("update public.contacts set company_id = $1 where id = $2", [
      c2,
      a.contactIds[6],
    ]);
    await target.owner("update public.contacts set company_id = $1 where org_id = $2", [
      b.companyIds[0],
      b.orgId,
    ]);
    const expectedOrder = [...at1.slice(0, 4), ...[at1[4], at1[5]].sort()];

    await t.step("the company's contacts, oldest first, ties by id; defaults", async () => {
      const res = await list(c1);
      assert.equal(res.status, 200, res.text);
      assertPage(res.json, a, c1);
      assert.deepEqual(res.json.data.map((c: { id: string }) => c.id), expectedOrder);
      assert.deepEqual(res.json.meta, {
        page: 1,
        per_page: DEFAULT_PER_PAGE,
        total: 6,
        has_more: false,
        next_cursor: null,
      });
      const first = res.json.data[0];
      assert.equal(first.created_at, "2030-01-01T00:00:00.000000Z");
      const [row] = await target.owner<{ full_name: string; email: string }>(
        "select full_name, email from public.contacts where id = $1",
        [first.id],
      );
      assert.deepEqual([first.full_name, first.email], [row.full_name, row.email]);
    });

    await t.step("pages: per_page splits, total stays, past the end is empty", async () => {
      const pages = [];
      for (const page of [1, 2, 3, 4]) {
        const res = await list(c1, `?page=${page}&per_page=2`);
        assert.equal(res.status, 200);
        assertPage(res.json, a, c1);
        assert.deepEqual(
          { ...res.json.meta, next_cursor: typeof res.json.meta.next_cursor },
          {
            page,
            per_page: 2,
            total: 6,
            has_more: page < 3,
            next_cursor: page < 3 ? "string" : "object",
          },
        );
        pages.push(...res.json.data.map((c: { id: string }) => c.id));
      }
      assert.deepEqual(pages, expectedOrder);
      const far = await list(c1, "?page=101&per_page=100");
      assert.equal(far.status, 200);
      assert.deepEqual(far.json, {
        data: [],
        meta: { page: 101, per_page: 100, total: 6, has_more: false, next_cursor: null },
      });
    });

    await t.step("another company's contacts are not listed; an empty company is", async () => {
      const other = await list(c2);
      assert.deepEqual(other.json.data.map((c: { id: string }) => c.id), [a.contactIds[6]]);
      const empty = await createTenant(target.owner, { companies: 1, contacts: 1 });
      const res = await list(empty.companyIds[0], "", empty.keys.read);
      assert.deepEqual(res.json, {
        data: [],
        meta: {
          page: 1,
          per_page: DEFAULT_PER_PAGE,
          total: 0,
          has_more: false,
          next_cursor: null,
        },
      });
    });

    await t.step(`per_page ${MAX_PER_PAGE} is the most`, async () => {
      const ok = await list(c1, `?per_page=${MAX_PER_PAGE}`);
      assert.equal(ok.status, 200);
      assert.equal(ok.json.meta.per_page, MAX_PER_PAGE);
    });

    for (
      const [query, path] of [
        ["?page=0", "page"],
        ["?page=-1", "page"],
        ["?page=abc", "page"],
        ["?page=1.5", "page"],
        ["?page=1e3", "page"],
        ["?page=%201", "page"],
        ["?page=", "page"],
        ["?page=2147483648", "page"],
        ["?page=2147483647", "page"],
        ["?cursor=abc", "cursor"],
        ["?page=1&cursor=abc", "cursor"],
        ["?page=1&page=2", "page"],
        ["?per_page=0", "per_page"],
        [`?per_page=${MAX_PER_PAGE + 1}`, "per_page"],
        ["?per_page=0x10", "per_page"],
        ["?perPage=10", "perPage"],
      ]
    ) {
      await t.step(`400 validation_error for ${query}`, async () => {
        const res = await list(c1, query);
        assert.equal(res.status, 400, res.text);
        assert.equal(res.json.error.code, "validation_error");
        assert.equal(res.json.error.details[0].path, path);
        assert.equal(res.json.error.details[0].in, "query");
        assert.match(res.json.error.message, /^Invalid request query\./);
      });
    }

    await t.step("scopes are exact: contacts:write alone is 403; both is 200", async () => {
      const write = await list(c1, "", a.keys.write);
      assert.equal(write.status, 403);
      assert.equal(write.json.error.code, "insufficient_permissions");
      assert.match(write.json.error.message, /contacts:read/);
      assert.equal((await list(c1, "", a.keys.all)).status, 200);
    });

    await t.step(
      "404 company_not_found: unknown, or another org's; reads write nothing",
      async () => {
        const before = await databaseDigest(target.owner);
        for (const id of [MISSING, b.companyIds[0]]) {
          const res = await list(id);
          assert.equal(res.status, 404);
          assert.equal(res.json.error.code, "company_not_found");
        }
        assert.equal((await list(c1)).status, 200);
        assert.equal(await databaseDigest(target.owner), before);
      },
    );

    await t.step("POST on the list path is 405 with Allow: GET", async () => {
      const res = await send(app, "POST", routePath(listCompanyContacts, { id: c1 }), {
        key: a.keys.all,
        body: {},
      });
      assert.equal(res.status, 405);
      assert.match(res.headers.get("allow") ?? "", /\bGET\b/);
    });
  },
});
