import { defineEndpoint } from "../kit/endpoint.ts";
import { type PageQuery, pageQuery } from "../kit/schemas.ts";
import type { Zod } from "../kit/zod.ts";
import { DEFAULT_PER_PAGE } from "../limits.ts";
import { type Webhook, webhookPage } from "../webhooks/schemas.ts";

export const listWebhooks = defineEndpoint({
  method: "get",
  path: "/v1/webhooks",
  operationId: "listWebhooks",
  tags: ["webhooks"],
  summary: "List the webhook endpoints",
  description: "One page of the workspace's webhook endpoints, oldest first, each with its last " +
    "delivery's outcome. Never the secrets.",
  permission: "webhooks:read",
  request: (z: Zod) => ({ query: pageQuery(z, "Webhook endpoints") }),
  sql: {
    fn: "list_webhooks",
    args: ({ query }) => ({ p_page: query.page, p_per_page: query.per_page }),
  },
  response: {
    description: "A page of webhook endpoints, and where it sits.",
    schema: webhookPage,
    example: {
      data: [{
        id: "e0000000-0000-4000-8000-000000000001",
        url: "https://crm.example.com/hooks/leadlex",
        events: ["company.contacts_linked", "company.contacts_unlinked"],
        description: "CRM mirror",
        active: true,
        disabled_reason: null,
        last_delivery_status: "success",
        last_delivery_at: "2026-11-29T10:05:00.000000Z",
        created_at: "2026-11-29T10:00:00.000000Z",
        updated_at: "2026-11-29T10:00:00.000000Z",
      }],
      meta: { page: 1, per_page: DEFAULT_PER_PAGE, total: 1 },
    },
    from: (data: { webhooks: Webhook[]; total: number }, { query }) => ({
      data: data.webhooks,
      meta: {
        page: (query as PageQuery).page,
        per_page: (query as PageQuery).per_page,
        total: data.total,
      },
    }),
  },
});
