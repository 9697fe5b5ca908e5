import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../deps.ts";
import { ApiError, commonErrorResponses, described } from "../../errors.ts";
import { requireApiKey } from "../../middleware/auth.ts";
import { requireJsonBody } from "../../middleware/json_body.ts";

export const LINK_CONTACTS_SCOPE = "contacts:write";
export const MAX_CONTACT_IDS = 100;

const Uuid = z.guid({ error: "Invalid UUID" });

const Params = z.object({
  id: Uuid.openapi({
    param: { name: "id", in: "path" },
    example: "c0000000-0000-4000-8000-000000000001",
    description: "The company's id.",
  }),
});

const Body = z.strictObject({
  contact_ids: z.array(Uuid, { error: "contact_ids must be an array of UUID strings" })
    .min(1, { error: "contact_ids must hold at least 1 id" })
    .max(MAX_CONTACT_IDS, { error: `contact_ids must hold at most ${MAX_CONTACT_IDS} ids` })
    .openapi({ example: ["a0000000-0000-4000-8000-000000000001"] }),
}).openapi("LinkContactsRequest");

const Result = z.object({
  data: z.object({
    updated: z.int().nonnegative().openapi({
      description: "Distinct ids of the org's contacts that now point at the company " +
        "(already linked ones included).",
    }),
    failed: z.int().nonnegative().openapi({
      description: "Distinct ids that are not contacts of the org.",
    }),
    failed_ids: z.array(z.string()).openapi({
      description: "The ids counted in `failed`, in the order first sent.",
    }),
  }),
}).openapi("LinkContactsResponse");

export const linkContactsRoute = createRoute({
  method: "post",
  path: "/v1/companies/{id}/contacts/link",
  operationId: "linkContactsToCompany",
  tags: ["contacts"],
  summary: "Link existing contacts to a company",
  description: `Points up to ${MAX_CONTACT_IDS} of the workspace's contacts at one of its ` +
    "companies, in one transaction. Idempotent; a contact linked elsewhere moves. " +
    `Requires the \`${LINK_CONTACTS_SCOPE}\` permission.`,
  security: [{ ApiKey: [] }],
  middleware: [requireApiKey(LINK_CONTACTS_SCOPE), requireJsonBody] as const,
  request: {
    params: Params,
    body: { required: true, content: { "application/json": { schema: Body } } },
  },
  responses: {
    200: { description: "Counts.", content: { "application/json": { schema: Result } } },
    ...commonErrorResponses,
    404: described(
      "company_not_found: no such company in the key's workspace; not_found: no route",
    ),
  },
});

export function registerLinkContacts(api: OpenAPIHono<AppEnv>) {
  api.openapi(linkContactsRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { contact_ids } = c.req.valid("json");
    const result = await c.get("deps").db.linkContacts(c.get("apiKey").orgId, id, contact_ids);
    if (!result) {
      throw new ApiError(404, "company_not_found", `No company ${id} in this workspace.`);
    }
    return c.json(
      { data: { updated: result.updated, failed: result.failed, failed_ids: result.failedIds } },
      200,
    );
  });
}
