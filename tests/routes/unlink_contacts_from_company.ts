// The unlink endpoint: its declaration for the shared suites, and its own HTTP contract.
import assert from "node:assert/strict";
import { unlinkContactsFromCompany } from "../../supabase/functions/api-gateway/routes/unlink_contacts_from_company.ts";
import { MAX_CONTACT_IDS } from "../../supabase/functions/api-gateway/limits.ts";
import { companyOf, createTenant, databaseDigest } from "../harness/fixtures.ts";
import { routePath, send } from "../harness/http.ts";
import { defineRouteTest } from "../harness/route_tests.ts";
import { checkBatch200, crossOrgBatch, okBatch, validBatch } from "../harness/contact_batches.ts";
import type { Query } from "../../local/sql_db.ts";

const MISSING = "00000000-0000-4000-8000-00000000beef";

const linkAll = (owner: Query, companyId: string, ids: string[]) =>
  owner("update public.contacts set company_id = $1 where id = any($2::uuid[])", [companyId, ids]);

export default defineRouteTest({
  endpoint: unlinkContactsFromCompany,
  valid: validBatch,
  ok: okBatch,
  sqlData: { updated: 2, failed: 0, failed_ids: [] },
  writes: true,
  crossOrg: crossOrgBatch,
  property: {
    // The published limit (docs/using-the-api.md: 1 to 100 ids), written out on purpose: see maxItems.
    maxItems: { contact_ids: 100 },
    // Afterwards each of the org's contacts among the ids is not linked to the company.
    check200: checkBatch200((company, now) => now !== company),
  },

  async contract(t, { target, build }) {
    const { app } = build();
    const a = await createTenant(target.owner, { companies: 2, contacts: 6 });
    const b = await createTenant(target.owner, { companies: 1, contacts: 2 });
    const [c1, c2] = a.companyIds;
    const [x1, x2, x3, x4, x5, x6] = a.contactIds;
    const unlink = (companyId: string, body: unknown, key: string | null = a.keys.write) =>
      send(app, "POST", routePath(unlinkContactsFromCompany, { id: companyId }), { body, key });

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
