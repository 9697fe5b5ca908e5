import { z } from "zod";
import { DEFAULT_PER_PAGE, MAX_PER_PAGE } from "../limits.ts";
import { defineEndpoint } from "../kit/endpoint.ts";
import { CompanyIdParams, unknownCompany, Uuid } from "../kit/schemas.ts";

// Postgres integer: the SQL function's parameter type.
const MAX_PAGE = 2_147_483_647;

/** A query-string integer: digits only (no signs, exponents, hex or blanks), then bounded.
 * Documented as the integer it is. */
const queryInt = (name: string, min: number, max: number, fallback: number) =>
  z.preprocess(
    (v) => typeof v === "string" && /^[0-9]{1,10}$/.test(v) ? Number(v) : v,
    z.int({ error: `${name} must be a whole number` })
      .min(min, { error: `${name} must be at least ${min}` })
      .max(max, { error: `${name} must be at most ${max}` }),
  ).default(fallback);

const Query = z.strictObject({
  page: queryInt("page", 1, MAX_PAGE, 1).meta({
    param: { name: "page", in: "query" },
    description: "Page number, from 1.",
    example: 1,
  }),
  per_page: queryInt("per_page", 1, MAX_PER_PAGE, DEFAULT_PER_PAGE).meta({
    param: { name: "per_page", in: "query" },
    description: `Contacts per page, 1 to ${MAX_PER_PAGE} (default ${DEFAULT_PER_PAGE}).`,
    example: DEFAULT_PER_PAGE,
  }),
});

const Contact = z.object({
  id: Uuid,
  full_name: z.string().nullable(),
  email: z.string().nullable(),
  company_id: Uuid,
  created_at: z.string().meta({ description: "ISO 8601, UTC.", format: "date-time" }),
  updated_at: z.string().meta({ description: "ISO 8601, UTC.", format: "date-time" }),
}).meta({ id: "Contact" });

const ContactPage = z.object({
  data: z.array(Contact),
  meta: z.object({
    page: z.int(),
    per_page: z.int(),
    total: z.int().nonnegative().meta({ description: "Contacts of the company in all." }),
  }),
}).meta({ id: "ContactPage" });

export const listCompanyContacts = defineEndpoint({
  method: "get",
  path: "/v1/companies/{id}/contacts",
  operationId: "listCompanyContacts",
  tags: ["contacts"],
  summary: "List a company's contacts",
  description: "One page of the contacts linked to one of the workspace's companies, oldest " +
    "first (by created_at, then id). A page past the end is empty.",
  permission: "contacts:read",
  request: { params: CompanyIdParams, query: Query },
  sql: {
    fn: "list_company_contacts",
    args: ({ params, query }) => ({
      p_company_id: params.id,
      p_page: query.page,
      p_per_page: query.per_page,
    }),
  },
  errors: {
    company_not_found: unknownCompany,
  },
  response: {
    description: "A page of contacts, and where it sits.",
    schema: ContactPage,
    example: {
      data: [{
        id: "a0000000-0000-4000-8000-000000000003",
        full_name: "Grace Hopper",
        email: "grace@example.com",
        company_id: "c0000000-0000-4000-8000-000000000002",
        created_at: "2026-11-27T13:44:44.123456Z",
        updated_at: "2026-11-27T13:44:44.123456Z",
      }],
      meta: { page: 1, per_page: DEFAULT_PER_PAGE, total: 1 },
    },
    from: (
      data: { contacts: z.output<typeof Contact>[]; total: number },
      { query },
    ) => ({
      data: data.contacts,
      meta: { page: query.page, per_page: query.per_page, total: data.total },
    }),
  },
});
