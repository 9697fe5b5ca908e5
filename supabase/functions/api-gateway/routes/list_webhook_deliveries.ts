import { webhookNotFound } from "../errors.ts";
import { defineEndpoint } from "../kit/endpoint.ts";
import { keysetList, type ListData } from "../kit/cursor.ts";
import type { Zod } from "../kit/zod.ts";
import { DEFAULT_PER_PAGE } from "../limits.ts";
import { type Delivery, deliveryPage, webhookIdParams } from "../webhooks/schemas.ts";

const pages = keysetList<{ id: string }>({
  name: "webhook_deliveries",
  items: "Deliveries",
  parent: (params) => params.id,
});

export const listWebhookDeliveries = defineEndpoint({
  method: "get",
  path: "/v1/webhooks/{id}/deliveries",
  operationId: "listWebhookDeliveries",
  tags: ["webhooks"],
  summary: "List a webhook endpoint's deliveries",
  description: "One page of the endpoint's deliveries, newest first: each event sent to it, its " +
    "status, how many attempts were made and the latest 20 of them (time, status code, duration, " +
    "error class, the first bytes of the answer). Kept 30 days.",
  permission: "webhooks:read",
  request: (z: Zod) => ({ params: webhookIdParams(z), query: pages.query(z) }),
  check: pages.check,
  sql: {
    fn: "list_webhook_deliveries",
    args: (input) => ({ p_webhook_id: input.params.id, ...pages.args(input) }),
  },
  errors: {
    webhook_not_found: ({ params }) => webhookNotFound(params.id),
  },
  response: {
    description: "A page of deliveries, and where it sits.",
    schema: deliveryPage,
    example: {
      data: [{
        id: "d0000000-0000-4000-8000-000000000001",
        event_id: "f0000000-0000-4000-8000-000000000001",
        event_type: "company.contacts_linked",
        status: "succeeded",
        next_attempt_at: null,
        created_at: "2026-11-29T10:05:00.000000Z",
        attempt_count: 1,
        attempts: [{
          attempt: 1,
          attempted_at: "2026-11-29T10:05:00.400000Z",
          status_code: 200,
          duration_ms: 87,
          error_class: null,
          response_prefix: "ok",
        }],
      }],
      meta: { page: 1, per_page: DEFAULT_PER_PAGE, total: 1, has_more: false, next_cursor: null },
    },
    from: (data: ListData & { deliveries: Delivery[] }, input) => ({
      data: data.deliveries,
      meta: pages.answer(input, data, data.deliveries),
    }),
  },
});
