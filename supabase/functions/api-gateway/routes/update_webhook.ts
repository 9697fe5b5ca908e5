import { webhookNotFound, webhookUrlTaken } from "../errors.ts";
import { defineEndpoint } from "../kit/endpoint.ts";
import type { Zod } from "../kit/zod.ts";
import { storedUrl, webhookInputProblem } from "../webhooks/checks.ts";
import { updateWebhookBody, type Webhook, webhook, webhookIdParams } from "../webhooks/schemas.ts";

export const updateWebhook = defineEndpoint({
  method: "patch",
  path: "/v1/webhooks/{id}",
  operationId: "updateWebhook",
  tags: ["webhooks"],
  summary: "Change a webhook endpoint",
  description: "Changes the fields the body names (url, events, description, active); the others " +
    "stay. active: false stops deliveries and cancels those pending (turning it back on does " +
    "not revive them); turning an endpoint the gateway turned off back on clears why.",
  permission: "webhooks:write",
  request: (z: Zod) => ({ params: webhookIdParams(z), body: updateWebhookBody(z) }),
  bodyExample: { active: false },
  check: ({ body }, c) => webhookInputProblem(body, c),
  sql: {
    fn: "update_webhook",
    args: ({ params, body }) => ({
      p_webhook_id: params.id,
      p_changes: body.url === undefined ? body : { ...body, url: storedUrl(body.url) },
    }),
  },
  errors: {
    webhook_not_found: ({ params }) => webhookNotFound(params.id),
    webhook_url_taken: webhookUrlTaken,
  },
  response: {
    description: "The endpoint as it is now (no secret).",
    schema: (z: Zod) => z.object({ data: z.object({ webhook: webhook(z) }) }),
    example: {
      data: {
        webhook: {
          id: "e0000000-0000-4000-8000-000000000001",
          url: "https://crm.example.com/hooks/leadlex",
          events: ["company.contacts_linked", "company.contacts_unlinked"],
          description: "CRM mirror",
          active: false,
          disabled_reason: null,
          last_delivery_status: "success",
          last_delivery_at: "2026-11-29T10:05:00.000000Z",
          created_at: "2026-11-29T10:00:00.000000Z",
          updated_at: "2026-11-29T10:10:00.000000Z",
        },
      },
    },
    from: (data: { webhook: Webhook }) => ({ data }),
  },
});
