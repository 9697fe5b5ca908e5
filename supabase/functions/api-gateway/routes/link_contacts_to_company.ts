import { MAX_CONTACT_IDS } from "../limits.ts";
import { defineEndpoint } from "../kit/endpoint.ts";
import type { Zod } from "../kit/zod.ts";
import {
  type BatchData,
  batchResult,
  companyIdParams,
  contactIdsBody,
  unknownCompany,
} from "../kit/schemas.ts";

export const linkContactsToCompany = defineEndpoint({
  method: "post",
  path: "/v1/companies/{id}/contacts/link",
  operationId: "linkContactsToCompany",
  tags: ["contacts"],
  summary: "Link existing contacts to a company",
  description: `Points up to ${MAX_CONTACT_IDS} of the workspace's contacts at one of its ` +
    "companies, in one transaction. Idempotent; a contact linked to another company moves.",
  permission: "contacts:write",
  request: (z: Zod) => ({ params: companyIdParams(z), body: contactIdsBody(z) }),
  bodyExample: {
    contact_ids: ["a0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000002"],
  },
  sql: {
    fn: "link_contacts_to_company",
    args: ({ params, body }) => ({ p_company_id: params.id, p_contact_ids: body.contact_ids }),
  },
  errors: {
    company_not_found: unknownCompany,
  },
  response: {
    description: "The counts: every distinct id is either updated or failed.",
    schema: batchResult,
    example: { data: { updated: 2, failed: 0, failed_ids: [] } },
    from: (data: BatchData) => ({ data }),
  },
});
