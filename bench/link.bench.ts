/**
 * `deno task bench`: what one link request costs, against baselines measured in the same run
 * on the same throwaway Postgres 15 (never absolute thresholds: the machine is shared).
 *   - "rpc": the SQL function alone, called through the SQL adapter (the floor).
 *   - "gateway": the full HTTP pipeline in-process (auth lookup + validation + RPC).
 *   - "naive": the same work as a client-side loop, one UPDATE per contact in a transaction.
 * Deno prints each group's ratios against its baseline.
 */
import { createApp } from "../supabase/functions/api-gateway/app.ts";
import { createTenant } from "../tests/harness/fixtures.ts";
import { linkPath } from "../tests/harness/http.ts";
import { getTarget } from "../tests/harness/targets.ts";
import { connectPostgres } from "../local/postgres.ts";

const target = await getTarget("postgres");
const tenant = await createTenant(target.owner, { companies: 2, contacts: 100 });
const app = createApp({ db: target.db, log: () => {} });
const naive = connectPostgres(target.server!.url, { max: 1 });

for (const size of [1, 10, 100]) {
  const ids = tenant.contactIds.slice(0, size);
  const body = JSON.stringify({ contact_ids: ids });
  // Alternate companies so every iteration really moves the contacts.
  let flip = 0;
  const nextCompany = () => tenant.companyIds[flip++ % 2];
  const group = `link ${size} contact${size === 1 ? "" : "s"}`;

  Deno.bench({ name: `rpc (${size})`, group, baseline: true }, async () => {
    await target.db.linkContacts(tenant.orgId, nextCompany(), ids);
  });

  Deno.bench({ name: `gateway POST (${size})`, group }, async () => {
    const res = await app.request(linkPath(nextCompany()), {
      method: "POST",
      headers: { authorization: `Bearer ${tenant.keys.write}`, "content-type": "application/json" },
      body,
    });
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    await res.body?.cancel();
  });

  Deno.bench({ name: `naive per-row UPDATEs (${size})`, group }, async () => {
    const company = nextCompany();
    await naive.begin(async (tx) => {
      for (const id of ids) {
        await tx`update public.contacts set company_id = ${company}, updated_at = now()
                 where id = ${id} and org_id = ${tenant.orgId}`;
      }
    });
  });
}
