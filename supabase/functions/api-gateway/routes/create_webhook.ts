import { defineEndpoint } from "../kit/endpoint.ts";
import type { Zod } from "../kit/zod.ts";
import { webhookLimitReached, webhookUrlTaken } from "../errors.ts";
import { storedUrl, webhookInputProblem } from "../webhooks/checks.ts";
import {
  createWebhookBody,
  type WebhookWithSecret,
  webhookWithSecret,
} from "../webhooks/schemas.ts";
import { newStoredSecret, shownSecret } from "../webhooks/secret.ts";

export const createWebhook = defineEndpoint({
  method: "post",
  path: "/v1/webhooks",
  operationId: "createWebhook",
  tags: ["webhooks"],
  summary: "Create a webhook endpoint",
  description: "Registers a URL to receive the workspace's events, signed per Standard Webhooks " +
    "with the secret this answer shows, once. The URL must be https to a public address (not " +
    "private, loopback or link-local, by name or by what it resolves to), stored as the WHATWG " +
    "parser writes it; one endpoint per URL. Up to 20 per workspace.",
  permission: "webhooks:write",
  request: (z: Zod) => ({ body: createWebhookBody(z) }),
  bodyExample: {
    url: "https://crm.example.com/hooks/leadlex",
    events: ["company.contacts_linked", "company.contacts_unlinked"],
    description: "CRM mirror",
  },
  check: ({ body }, c) => webhookInputProblem(body, c),
  sql: {
    fn: "create_webhook",
    // Encrypted before the call: the database never sees the secret itself.
    args: async ({ body }, c) => ({
      p_url: storedUrl(body.url),
      p_events: body.events,
      p_description: body.description ?? null,
      p_active: body.active ?? true,
      p_secret: await newStoredSecret(c),
    }),
  },
  errors: {
    webhook_limit_reached: webhookLimitReached,
    webhook_url_taken: webhookUrlTaken,
  },
  response: {
    status: 201,
    description: "The endpoint, with its signing secret (shown only here).",
    schema: (z: Zod) => z.object({ data: z.object({ webhook: webhookWithSecret(z) }) }),
    example: {
      data: {
        webhook: {
          id: "e0000000-0000-4000-8000-000000000001",
          url: "https://crm.example.com/hooks/leadlex",
          events: ["company.contacts_linked", "company.contacts_unlinked"],
          description: "CRM mirror",
          active: true,
          disabled_reason: null,
          last_delivery_status: null,
          last_delivery_at: null,
          created_at: "2026-11-29T10:00:00.000000Z",
          updated_at: "2026-11-29T10:00:00.000000Z",
          secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        },
      },
    },
    from: async (data: { webhook: WebhookWithSecret }, _input, c) => ({
      data: { webhook: { ...data.webhook, secret: await shownSecret(data.webhook.secret, c) } },
    }),
  },
});
