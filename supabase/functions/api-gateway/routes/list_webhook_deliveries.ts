import { webhookNotFound } from "../errors.ts";
import { defineEndpoint } from "../kit/endpoint.ts";
import { type PageQuery, pageQuery } from "../kit/schemas.ts";
import type { Zod } from "../kit/zod.ts";
import { DEFAULT_PER_PAGE } from "../limits.ts";
import { type Delivery, deliveryPage, webhookIdParams } from "../webhooks/schemas.ts";

export const listWebhookDeliveries = defineEndpoint({
  method: "get",
  path: "/v1/webhooks/{id}/deliveries",
  operationId: "listWebhookDeliveries",
  tags: ["webhooks"],
  summary: "List a webhook endpoint's deliveries",
  description: "One page of the endpoint's deliveries, newest first: each event sent to it, its " +
    "status and every attempt (time, status code, duration, error class, the first bytes of the " +
    "answer). Kept 30 days.",
  permission: "webhooks:read",
  request: (z: Zod) => ({ params: webhookIdParams(z), query: pageQuery(z, "Deliveries") }),
  sql: {
    fn: "list_webhook_deliveries",
    args: ({ params, query }) => ({
      p_webhook_id: params.id,
      p_page: query.page,
      p_per_page: query.per_page,
    }),
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
        attempts: [{
          attempt: 1,
          attempted_at: "2026-11-29T10:05:00.400000Z",
          status_code: 200,
          duration_ms: 87,
          error_class: null,
          response_prefix: "ok",
        }],
      }],
      meta: { page: 1, per_page: DEFAULT_PER_PAGE, total: 1 },
    },
    from: (data: { deliveries: Delivery[]; total: number }, { query }) => ({
      data: data.deliveries,
      meta: {
        page: (query as PageQuery).page,
        per_page: (query as PageQuery).per_page,
        total: data.total,
      },
    }),
  },
});
