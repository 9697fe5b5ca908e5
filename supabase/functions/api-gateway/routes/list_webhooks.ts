import { defineEndpoint } from "../kit/endpoint.ts";
import { keysetList, type ListData } from "../kit/cursor.ts";
import type { Zod } from "../kit/zod.ts";
import { DEFAULT_PER_PAGE } from "../limits.ts";
import { type Webhook, webhookPage } from "../webhooks/schemas.ts";

const pages = keysetList({ name: "webhooks", items: "Webhook endpoints" });

export const listWebhooks = defineEndpoint({
  method: "get",
  path: "/v1/webhooks",
  operationId: "listWebhooks",
  tags: ["webhooks"],
  summary: "List the webhook endpoints",
  description: "One page of the workspace's webhook endpoints, oldest first, each with its last " +
    "delivery's outcome. Never the secrets.",
  permission: "webhooks:read",
  request: (z: Zod) => ({ query: pages.query(z) }),
  check: pages.check,
  sql: { fn: "list_webhooks", args: pages.args },
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
      meta: { page: 1, per_page: DEFAULT_PER_PAGE, total: 1, has_more: false, next_cursor: null },
    },
    from: (data: ListData & { webhooks: Webhook[] }, input) => ({
      data: data.webhooks,
      meta: pages.answer(input, data, data.webhooks),
    }),
  },
});
