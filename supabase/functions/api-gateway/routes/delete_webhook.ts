import { webhookNotFound } from "../errors.ts";
import { defineEndpoint } from "../kit/endpoint.ts";
import type { Zod } from "../kit/zod.ts";
import { webhookIdParams } from "../webhooks/schemas.ts";

export const deleteWebhook = defineEndpoint({
  method: "delete",
  path: "/v1/webhooks/{id}",
  operationId: "deleteWebhook",
  tags: ["webhooks"],
  summary: "Delete a webhook endpoint",
  description: "The endpoint goes, and with it its deliveries: the pending ones are cancelled " +
    "(one already on its way may still arrive). Deleting it again answers the same.",
  permission: "webhooks:write",
  request: (z: Zod) => ({ params: webhookIdParams(z) }),
  sql: {
    fn: "delete_webhook",
    args: ({ params }) => ({ p_webhook_id: params.id }),
  },
  errors: {
    webhook_not_found: ({ params }) => webhookNotFound(params.id),
  },
  response: {
    status: 204,
    description: "Deleted; no body.",
    from: () => undefined,
  },
});
