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

export const unlinkContactsFromCompany = defineEndpoint({
  method: "post",
  path: "/v1/companies/{id}/contacts/unlink",
  operationId: "unlinkContactsFromCompany",
  tags: ["contacts"],
  summary: "Unlink contacts from a company",
  description: `Of up to ${MAX_CONTACT_IDS} of the workspace's contacts, those linked to this ` +
    "company stop being linked to any; those linked to another company are left as they are. " +
    "One transaction; idempotent.",
  permission: "contacts:write",
  request: (z: Zod) => ({ params: companyIdParams(z), body: contactIdsBody(z) }),
  bodyExample: { contact_ids: ["a0000000-0000-4000-8000-000000000003"] },
  sql: {
    fn: "unlink_contacts_from_company",
    args: ({ params, body }) => ({ p_company_id: params.id, p_contact_ids: body.contact_ids }),
  },
  errors: {
    company_not_found: unknownCompany,
  },
  response: {
    description: "The counts: every distinct id is either updated (now not linked to the " +
      "company, already unlinked included) or failed (not a contact of the workspace).",
    schema: batchResult,
    example: { data: { updated: 1, failed: 0, failed_ids: [] } },
    from: (data: BatchData) => ({ data }),
  },
});
