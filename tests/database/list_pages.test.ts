// list_company_contacts called directly in SQL (as PostgREST would let a service-key holder call
// it), with page numbers the HTTP route never sends: a page below 1 is the first page, whatever
// per_page, and nothing fails. On PGlite and Postgres, so a wrong clamp fails without pg_prove.
import assert from "node:assert/strict";
import { hashApiKey } from "../../supabase/functions/api-gateway/kit/key.ts";
import { createTenant } from "../harness/fixtures.ts";
import { getTarget, TARGET_KINDS, targetTestOptions } from "../harness/targets.ts";

type Listed = { outcome: string; data: { contacts: { id: string }[]; total: number } };

for (const kind of TARGET_KINDS) {
  Deno.test(
    { name: `list_company_contacts in SQL: pages below 1 [${kind}]`, ...targetTestOptions(kind) },
    async () => {
      const target = await getTarget(kind);
      try {
        const org = await createTenant(target.owner, { contacts: 5 });
        const company = org.companyIds[0];
        await target.owner(
          "update public.contacts set company_id = $1 where id = any($2::uuid[])",
          [company, org.contactIds],
        );
        const keyHash = await hashApiKey(org.keys.read);
        const list = (page: number, perPage: number) =>
          target.db.call<Listed>("list_company_contacts", {
            p_key_hash: keyHash,
            p_company_id: company,
            p_page: page,
            p_per_page: perPage,
          });
        const ids = async (page: number, perPage: number) => {
          const answer = await list(page, perPage);
          assert.equal(answer.outcome, "ok", JSON.stringify(answer));
          assert.equal(answer.data.total, 5);
          return answer.data.contacts.map((c) => c.id);
        };

        const first = await ids(1, 2);
        const second = await ids(2, 2);
        assert.equal(first.length, 2);
        assert.equal(second.length, 2);
        assert.notDeepEqual(first, second);
        assert.deepEqual(await ids(0, 2), first, "page 0 is the first page");
        assert.deepEqual(await ids(-7, 2), first, "a negative page is the first page");
        assert.deepEqual(await ids(0, 5), await ids(1, 5), "whatever per_page");
        assert.deepEqual(await ids(1, 0), [], "per_page 0: an empty page");
        assert.deepEqual(await ids(0, -3), [], "a negative per_page: an empty page");
      } finally {
        await target.close();
      }
    },
  );
}
