// The unlink endpoint: its declaration for the shared suites, and its own HTTP contract.
import assert from "node:assert/strict";
import { unlinkContacts } from "../../supabase/functions/api-gateway/routes/companies/unlink_contacts.ts";
import { MAX_CONTACT_IDS } from "../../supabase/functions/api-gateway/limits.ts";
import { companyOf, createTenant, databaseDigest } from "../harness/fixtures.ts";
import { routePath, send } from "../harness/http.ts";
import { defineRouteTest } from "../harness/route_tests.ts";
import type { Query } from "../../local/sql_db.ts";

const MISSING = "00000000-0000-4000-8000-00000000beef";

const linkAll = (owner: Query, companyId: string, ids: string[]) =>
  owner("update public.contacts set company_id = $1 where id = any($2::uuid[])", [companyId, ids]);

export default defineRouteTest({
  endpoint: unlinkContacts,
  valid: (self) => ({
    params: { id: self.companyIds[0] },
    body: { contact_ids: self.contactIds.slice(0, 2) },
  }),
  ok: (json) => assert.deepEqual(json, { data: { updated: 2, failed: 0, failed_ids: [] } }),
  writes: true,
  crossOrg: (self, other) => [
    {
      name: "another org's company in the path",
      params: { id: other.companyIds[0] },
      body: { contact_ids: self.contactIds.slice(0, 2) },
      status: 404,
      code: "company_not_found",
    },
    {
      name: "another org's company and contacts",
      params: { id: other.companyIds[0] },
      body: { contact_ids: other.contactIds },
      status: 404,
      code: "company_not_found",
    },
    {
      name: "another org's contacts in the body",
      params: { id: self.companyIds[0] },
      body: { contact_ids: other.contactIds },
      status: 200,
      check: (json) =>
        assert.deepEqual(json, {
          data: { updated: 0, failed: other.contactIds.length, failed_ids: other.contactIds },
        }),
    },
  ],
  property: {
    // The published limit (README: 1 to 100 ids), written out on purpose: see maxItems.
    maxItems: { contact_ids: 100 },
    // Every distinct id counted once; the org's contacts among them no longer point at the company.
    async check200({ target, tenant, sent }, json) {
      const { data } = json as { data: { updated: number; failed: number; failed_ids: string[] } };
      const ids = (JSON.parse(new TextDecoder().decode(sent.body!)).contact_ids as string[])
        .map((id) => id.toLowerCase());
      const distinct = new Set(ids);
      assert.equal(data.updated + data.failed, distinct.size, "updated + failed");
      assert.equal(data.failed_ids.length, data.failed);
      assert.ok(data.failed_ids.every((id) => distinct.has(id)), "failed_ids are ids it was sent");
      const owned = [...distinct].filter((id) => tenant.contactIds.includes(id));
      assert.equal(data.updated, owned.length, "only the org's own contacts");
      const company = /\/companies\/([^/]+)\/contacts\/unlink$/i.exec(
        decodeURIComponent(new URL(sent.path, "http://x").pathname),
      )![1].toLowerCase();
      const linked = await companyOf(target.owner, owned);
      assert.ok(owned.every((id) => linked[id] !== company), "unlinked");
    },
  },

  async contract(t, { target, build }) {
    const { app } = build();
    const a = await createTenant(target.owner, { companies: 2, contacts: 6 });
    const b = await createTenant(target.owner, { companies: 1, contacts: 2 });
    const [c1, c2] = a.companyIds;
    const [x1, x2, x3, x4, x5, x6] = a.contactIds;
    const unlink = (companyId: string, body: unknown, key: string | null = a.keys.write) =>
      send(app, "POST", routePath(unlinkContacts, { id: companyId }), { body, key });

    await t.step("unlinks the company's contacts, leaves another company's alone", async () => {
      await linkAll(target.owner, c1, [x1, x2, x3]);
      await linkAll(target.owner, c2, [x4]);
      const res = await unlink(c1, { contact_ids: [x1, x2, x4, x5] });
      assert.equal(res.status, 200, res.text);
      // x4 (at c2) and x5 (unlinked) do not point at c1 after the call: counted, untouched.
      assert.deepEqual(res.json, { data: { updated: 4, failed: 0, failed_ids: [] } });
      assert.deepEqual(await companyOf(target.owner, [x1, x2, x3, x4, x5]), {
        [x1]: null,
        [x2]: null,
        [x3]: c1,
        [x4]: c2,
        [x5]: null,
      });
    });

    await t.step("idempotent; only changed rows get a new updated_at", async () => {
      await target.owner(
        "update public.contacts set updated_at = now() - interval '1 day' where id = any($1::uuid[])",
        [[x1, x3, x4]],
      );
      const res = await unlink(c1, { contact_ids: [x1, x3, x4] });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json.data, { updated: 3, failed: 0, failed_ids: [] });
      const rows = await target.owner<{ id: string; fresh: boolean }>(
        `select id, updated_at > now() - interval '1 minute' as fresh from public.contacts
         where id = any($1::uuid[]) order by id`,
        [[x1, x3, x4]],
      );
      assert.deepEqual(
        Object.fromEntries(rows.map((r) => [r.id, r.fresh])),
        { [x1]: false, [x3]: true, [x4]: false },
      );
    });

    await t.step("missing and other-org ids fail, in first-sent order, deduplicated", async () => {
      await linkAll(target.owner, b.companyIds[0], b.contactIds);
      const before = await companyOf(target.owner, b.contactIds);
      const res = await unlink(c2, {
        contact_ids: [MISSING, x6, b.contactIds[0], x6.toUpperCase(), MISSING],
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json.data, {
        updated: 1,
        failed: 2,
        failed_ids: [MISSING, b.contactIds[0]],
      });
      assert.deepEqual(await companyOf(target.owner, b.contactIds), before);
    });

    await t.step(`${MAX_CONTACT_IDS} ids accepted, ${MAX_CONTACT_IDS + 1} refused`, async () => {
      const big = await createTenant(target.owner, { companies: 1, contacts: MAX_CONTACT_IDS });
      await linkAll(target.owner, big.companyIds[0], big.contactIds);
      const res = await unlink(big.companyIds[0], { contact_ids: big.contactIds }, big.keys.write);
      assert.equal(res.status, 200);
      assert.equal(res.json.data.updated, MAX_CONTACT_IDS);
      const over = await unlink(big.companyIds[0], {
        contact_ids: [...big.contactIds, MISSING],
      }, big.keys.write);
      assert.equal(over.status, 400);
      assert.equal(over.json.error.details[0].path, "contact_ids");
    });

    await t.step("404 company_not_found and 403 for a read key, nothing written", async () => {
      await linkAll(target.owner, c1, [x1]);
      const before = await databaseDigest(target.owner);
      const missing = await unlink(MISSING, { contact_ids: [x1] });
      assert.equal(missing.status, 404);
      assert.equal(missing.json.error.code, "company_not_found");
      const foreign = await unlink(b.companyIds[0], { contact_ids: b.contactIds });
      assert.equal(foreign.status, 404);
      const read = await unlink(c1, { contact_ids: [x1] }, a.keys.read);
      assert.equal(read.status, 403);
      assert.match(read.json.error.message, /contacts:write/);
      assert.equal(await databaseDigest(target.owner), before);
    });
  },
});
