import type { z } from "zod";
import { DEFAULT_PER_PAGE } from "../limits.ts";
import { defineEndpoint } from "../kit/endpoint.ts";
import { keysetList, type ListData } from "../kit/cursor.ts";
import { companyIdParams, unknownCompany, uuid } from "../kit/schemas.ts";
import { schema, type Zod } from "../kit/zod.ts";

const contact = schema((z) =>
  z.object({
    id: uuid(z),
    full_name: z.string().nullable(),
    email: z.string().nullable(),
    company_id: uuid(z),
    created_at: z.string().meta({ description: "ISO 8601, UTC.", format: "date-time" }),
    updated_at: z.string().meta({ description: "ISO 8601, UTC.", format: "date-time" }),
  }).meta({ id: "Contact" })
);

const pages = keysetList<{ id: string }>({
  name: "company_contacts",
  items: "Contacts",
  parent: (params) => params.id,
});

const contactPage = schema((z) =>
  z.object({
    data: z.array(contact(z)),
    meta: pages.meta(z),
  }).meta({ id: "ContactPage" })
);

type Contact = z.output<ReturnType<typeof contact>>;

export const listCompanyContacts = defineEndpoint({
  method: "get",
  path: "/v1/companies/{id}/contacts",
  operationId: "listCompanyContacts",
  tags: ["contacts"],
  summary: "List a company's contacts",
  description: "One page of the contacts linked to one of the workspace's companies, oldest " +
    "first (by created_at, then id). A page past the end is empty. Walk them all with " +
    "meta.next_cursor: the first page, then ?cursor= until it is null.",
  permission: "contacts:read",
  request: (z: Zod) => ({ params: companyIdParams(z), query: pages.query(z) }),
  check: pages.check,
  sql: {
    fn: "list_company_contacts",
    args: (input) => ({ p_company_id: input.params.id, ...pages.args(input) }),
  },
  errors: {
    company_not_found: unknownCompany,
  },
  response: {
    description: "A page of contacts, and where it sits.",
    schema: contactPage,
    example: {
      data: [{
        id: "a0000000-0000-4000-8000-000000000003",
        full_name: "Grace Hopper",
        email: "grace@example.com",
        company_id: "c0000000-0000-4000-8000-000000000002",
        created_at: "2026-11-27T13:44:44.123456Z",
        updated_at: "2026-11-27T13:44:44.123456Z",
      }],
      meta: { page: 1, per_page: DEFAULT_PER_PAGE, total: 1, has_more: false, next_cursor: null },
    },
    from: (data: ListData & { contacts: Contact[] }, input) => ({
      data: data.contacts,
      meta: pages.answer(input, data, data.contacts),
    }),
  },
});
