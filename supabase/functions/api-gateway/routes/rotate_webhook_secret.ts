import { webhookNotFound } from "../errors.ts";
import { defineEndpoint } from "../kit/endpoint.ts";
import type { Zod } from "../kit/zod.ts";
import { webhookIdParams } from "../webhooks/schemas.ts";
import { newStoredSecret, shownSecret } from "../webhooks/secret.ts";

export const rotateWebhookSecret = defineEndpoint({
  method: "post",
  path: "/v1/webhooks/{id}/rotate-secret",
  operationId: "rotateWebhookSecret",
  tags: ["webhooks"],
  summary: "Rotate a webhook endpoint's signing secret",
  description: "A new secret, shown only in this answer, signs from now on. The old one keeps " +
    "signing beside it, as a second `v1,` signature in webhook-signature, for 24 hours, so a " +
    "receiver can switch without losing a delivery.",
  permission: "webhooks:write",
  request: (z: Zod) => ({ params: webhookIdParams(z) }),
  sql: {
    fn: "rotate_webhook_secret",
    // Encrypted before the call: the database never sees the secret itself.
    args: async ({ params }, c) => ({
      p_webhook_id: params.id,
      p_secret: await newStoredSecret(c),
    }),
  },
  errors: {
    webhook_not_found: ({ params }) => webhookNotFound(params.id),
  },
  response: {
    description: "The new secret, and until when the previous one also signs.",
    schema: (z: Zod) =>
      z.object({
        data: z.object({
          webhook: z.object({
            id: z.string(),
            secret: z.string(),
            previous_secret_expires_at: z.string().meta({ format: "date-time" }),
          }),
        }),
      }),
    example: {
      data: {
        webhook: {
          id: "e0000000-0000-4000-8000-000000000001",
          secret: "whsec_2Hkx0bBPbNHcWMLDR3bO8RlYbg2CCXPy",
          previous_secret_expires_at: "2026-11-30T10:00:00.000000Z",
        },
      },
    },
    from: async (
      data: { webhook: { id: string; secret: string; previous_secret_expires_at: string } },
      _input,
      c,
    ) => ({
      data: { webhook: { ...data.webhook, secret: await shownSecret(data.webhook.secret, c) } },
    }),
  },
});
