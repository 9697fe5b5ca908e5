import {
  deliveryNotFound,
  deliveryRetryLimited,
  webhookInactive,
  webhookNotFound,
} from "../errors.ts";
import { defineEndpoint } from "../kit/endpoint.ts";
import type { Zod } from "../kit/zod.ts";
import { type Delivery, delivery, deliveryParams } from "../webhooks/schemas.ts";

export const retryWebhookDelivery = defineEndpoint({
  method: "post",
  path: "/v1/webhooks/{id}/deliveries/{delivery_id}/retry",
  operationId: "retryWebhookDelivery",
  tags: ["webhooks"],
  summary: "Retry a delivery now",
  description: "The delivery is due at once: one still being retried is brought forward; one " +
    "that failed, succeeded or was cancelled is sent again (the same webhook-id and body: a " +
    "replay). At most 10 times a day per delivery (then 429 delivery_retry_limited).",
  permission: "webhooks:write",
  request: (z: Zod) => ({ params: deliveryParams(z) }),
  sql: {
    fn: "retry_webhook_delivery",
    args: ({ params }) => ({ p_webhook_id: params.id, p_delivery_id: params.delivery_id }),
  },
  errors: {
    webhook_not_found: ({ params }) => webhookNotFound(params.id),
    delivery_not_found: ({ params }) => deliveryNotFound(params.delivery_id),
    webhook_inactive: webhookInactive,
    delivery_retry_limited: (_, outcome) => deliveryRetryLimited(outcome.retry_after ?? 86_400),
  },
  response: {
    status: 202,
    description: "Accepted: the delivery as it is now, due at once.",
    schema: (z: Zod) => z.object({ data: z.object({ delivery: delivery(z) }) }),
    example: {
      data: {
        delivery: {
          id: "d0000000-0000-4000-8000-000000000001",
          event_id: "f0000000-0000-4000-8000-000000000001",
          event_type: "company.contacts_linked",
          status: "pending",
          next_attempt_at: "2026-11-29T10:20:00.000000Z",
          created_at: "2026-11-29T10:05:00.000000Z",
          attempt_count: 0,
          attempts: [],
        },
      },
    },
    from: (data: { delivery: Delivery }) => ({ data }),
  },
});
