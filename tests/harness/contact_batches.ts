// What the route tests of contact-batch endpoints (link, unlink: a company in the path, a body of
// contact ids, answered with updated/failed counts) share.
import assert from "node:assert/strict";
import { companyOf, type Tenant } from "./fixtures.ts";
import type { CrossOrgCase, GeneratedRequest, RouteTest } from "./route_tests.ts";
import type { DbTarget } from "./targets.ts";

type Counts = { updated: number; failed: number; failed_ids: string[] };

/** A batch of `self`'s first two contacts at its first company. */
export const validBatch: RouteTest["valid"] = (self) => ({
  params: { id: self.companyIds[0] },
  body: { contact_ids: self.contactIds.slice(0, 2) },
});

export const okBatch: RouteTest["ok"] = (json) =>
  assert.deepEqual(json, { data: { updated: 2, failed: 0, failed_ids: [] } });

/** Another org's company answers like a missing one, whatever the body; another org's contacts
 * count as failed, exactly like ids that do not exist, and stay untouched. */
export const crossOrgBatch = (self: Tenant, other: Tenant): CrossOrgCase[] => [
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
];

/** The property suite's check of a generated 200: every distinct id counted once, failed_ids
 * distinct and sent, only the key's own org's contacts updated; `after(companyIdOf)` then says
 * where each of them must point now. Returns nothing; throws on the first broken property. */
export function checkBatch200(
  after: (company: string, now: string | null) => boolean,
): (
  ctx: { target: DbTarget; tenant: Tenant; sent: GeneratedRequest },
  json: unknown,
) => Promise<void> {
  return async ({ target, tenant, sent }, json) => {
    const { data } = json as { data: Counts };
    assert.deepEqual(Object.keys(data).sort(), ["failed", "failed_ids", "updated"]);
    const ids = (JSON.parse(new TextDecoder().decode(sent.body!)).contact_ids as string[])
      .map((id) => id.toLowerCase());
    const distinct = new Set(ids);
    assert.equal(data.updated + data.failed, distinct.size, "updated + failed");
    assert.equal(data.failed_ids.length, data.failed);
    const failed = new Set(data.failed_ids);
    assert.equal(failed.size, data.failed, "failed_ids are distinct");
    assert.ok([...failed].every((id) => distinct.has(id)), "failed_ids are ids it was sent");
    const owned = [...distinct].filter((id) => tenant.contactIds.includes(id));
    assert.equal(data.updated, owned.length, "only the org's own contacts");
    assert.ok(owned.every((id) => !failed.has(id)));
    const company = /\/companies\/([^/]+)\/contacts\/[a-z]+$/i.exec(
      decodeURIComponent(new URL(sent.path, "http://x").pathname),
    )![1].toLowerCase();
    assert.ok(tenant.companyIds.includes(company), "the org's own company");
    const now = await companyOf(target.owner, owned);
    assert.ok(owned.every((id) => after(company, now[id])), "each contact where it must be");
  };
}
