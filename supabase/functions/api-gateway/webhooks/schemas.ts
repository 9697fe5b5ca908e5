import type { z } from "zod";

import { listMeta } from "../kit/cursor.ts";
import { uuid } from "../kit/schemas.ts";
import { schema, type Zod } from "../kit/zod.ts";
import { WEBHOOK_EVENT_TYPES } from "./events.ts";
import { MAX_URL_LENGTH } from "./url_policy.ts";

/** A delivery shows its latest attempts, this many at most (internal.delivery_json). */
export const MAX_ATTEMPTS_SHOWN = 20;

const EXAMPLE_ID = "e0000000-0000-4000-8000-000000000001";
const EXAMPLE_URL = "https://crm.example.com/hooks/leadlex";

const idParam = (z: Zod, name: string, description: string, example: string) =>
  uuid(z).meta({ param: { name, in: "path" }, example, description });

/** `{id}`: the webhook endpoint's id. */
export const webhookIdParams = schema((z) =>
  z.object({ id: idParam(z, "id", "The webhook endpoint's id.", EXAMPLE_ID) })
);

/** `{id}` and `{delivery_id}`. */
export const deliveryParams = schema((z) =>
  z.object({
    id: idParam(z, "id", "The webhook endpoint's id.", EXAMPLE_ID),
    delivery_id: idParam(
      z,
      "delivery_id",
      "The delivery's id.",
      "d0000000-0000-4000-8000-000000000001",
    ),
  })
);

/** Text the database can store: well-formed Unicode without NUL (Postgres refuses both). */
const text = (z: Zod, field: string) =>
  z.string({ error: `${field} must be a string` }).refine(
    (s) => s.isWellFormed() && !s.includes("\u0000"),
    { error: `${field} must be Unicode text without NUL characters` },
  );

// Its length and form are the URL policy's to judge (400 invalid_url), not zod's.
const url = (z: Zod) =>
  text(z, "url")
    .meta({
      description: `Where deliveries are POSTed: https, to a public address; at most ` +
        `${MAX_URL_LENGTH} characters.`,
      example: EXAMPLE_URL,
    });

const events = (z: Zod) =>
  z.array(z.string().max(100), { error: "events must be an array of event types" })
    .min(1, { error: "events must name at least 1 event type" })
    .max(10, { error: "events must name at most 10 event types" })
    .meta({
      description: `Event types to receive: ${WEBHOOK_EVENT_TYPES.join(", ")}.`,
      example: [...WEBHOOK_EVENT_TYPES],
    });

const description = (z: Zod) =>
  text(z, "description").max(500, { error: "description must be at most 500 characters" }).meta({
    description: "Free text, up to 500 characters.",
    example: "CRM mirror",
  });

export const createWebhookBody = schema((z) =>
  z.strictObject({
    url: url(z),
    events: events(z),
    description: description(z).optional(),
    active: z.boolean().optional().meta({ description: "Deliver to it (default true)." }),
  }).meta({ id: "CreateWebhook" })
);

export const updateWebhookBody = schema((z) =>
  z.strictObject({
    url: url(z).optional(),
    events: events(z).optional(),
    description: description(z).nullable().optional(),
    active: z.boolean().optional().meta({
      description: "false stops deliveries and cancels those pending; true resumes delivery " +
        "of new events.",
    }),
  }).refine((b) => Object.keys(b).length > 0, {
    error: "name at least one of url, events, description, active",
  }).meta({ id: "UpdateWebhook" })
);

const timestamp = (z: Zod, description: string) =>
  z.string().meta({ description: `${description} ISO 8601, UTC.`, format: "date-time" });

export const webhook = schema((z) =>
  z.object({
    id: uuid(z),
    url: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
    description: z.string().nullable(),
    active: z.boolean(),
    disabled_reason: z.enum(["gone", "failing"]).nullable().meta({
      description: "Why the gateway turned it off: the receiver answered 410 (gone), or every " +
        "delivery failed for 5 days (failing). Null when active or turned off by you.",
    }),
    last_delivery_status: z.enum(["success", "failed"]).nullable().meta({
      description: "The last attempt's outcome; null before the first.",
    }),
    last_delivery_at: timestamp(z, "When the last attempt was made.").nullable(),
    created_at: timestamp(z, "When it was created."),
    updated_at: timestamp(z, "When it was last changed."),
  }).meta({ id: "Webhook" })
);

const secret = (z: Zod) =>
  z.string().meta({
    description: "The signing secret (whsec_ and base64): shown only in this answer.",
    example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  });

export const webhookWithSecret = schema((z) =>
  webhook(z).extend({ secret: secret(z) }).meta({ id: "WebhookWithSecret" })
);

export const attempt = schema((z) =>
  z.object({
    attempt: z.int().min(1),
    attempted_at: timestamp(z, "When it was made."),
    status_code: z.int().nullable().meta({
      description: "The receiver's status; null when none came.",
    }),
    duration_ms: z.int().nonnegative(),
    error_class: z.enum([
      "timeout",
      "connection",
      "blocked_address",
      "redirect",
      "http_status",
      "invalid_status",
    ])
      .nullable().meta({ description: "Why it failed; null when it succeeded." }),
    response_prefix: z.string().nullable().meta({
      description: "The first 256 bytes of the receiver's answer, at most.",
    }),
  }).meta({ id: "DeliveryAttempt" })
);

export const delivery = schema((z) =>
  z.object({
    id: uuid(z),
    event_id: uuid(z).meta({ description: "Sent as the webhook-id header, on every attempt." }),
    event_type: z.enum(WEBHOOK_EVENT_TYPES),
    status: z.enum(["pending", "succeeded", "failed", "cancelled"]).meta({
      description: "pending: due at next_attempt_at; succeeded; failed: its attempts are spent, " +
        "or the receiver answered 410; cancelled: its endpoint was deleted or turned off first.",
    }),
    next_attempt_at: timestamp(z, "When it is tried next (pending only).").nullable(),
    created_at: timestamp(z, "When the event was written."),
    attempt_count: z.int().nonnegative().meta({ description: "Attempts made in all." }),
    attempts: z.array(attempt(z)).max(MAX_ATTEMPTS_SHOWN).meta({
      description: `The latest ${MAX_ATTEMPTS_SHOWN} attempts at most, oldest first.`,
    }),
  }).meta({ id: "Delivery" })
);

export const webhookPage = schema((z) =>
  z.object({ data: z.array(webhook(z)), meta: listMeta(z, "Webhook endpoints") })
    .meta({ id: "WebhookPage" })
);

export const deliveryPage = schema((z) =>
  z.object({ data: z.array(delivery(z)), meta: listMeta(z, "Deliveries of the endpoint") })
    .meta({ id: "DeliveryPage" })
);

export type Webhook = z.output<ReturnType<typeof webhook>>;
export type WebhookWithSecret = z.output<ReturnType<typeof webhookWithSecret>>;
export type Delivery = z.output<ReturnType<typeof delivery>>;

const eventData = (z: Zod, linked: boolean) =>
  z.object({
    company_id: uuid(z).meta({ description: "The company the change was about." }),
    contact_ids: z.array(uuid(z)).meta({
      description: "The contacts whose company changed, sorted.",
    }),
    count: z.int().min(1).meta({ description: "How many: contact_ids.length." }),
    ...(linked
      ? {
        moved_from: z.record(z.string(), z.string()).meta({
          description: "For each contact that moved from another company of the workspace: " +
            "that company's id.",
        }),
      }
      : {}),
  });

/** The events, as delivered: the body of the POST a receiver gets. */
export const webhookEvents = schema((z) => ({
  "company.contacts_linked": z.object({
    type: z.literal("company.contacts_linked"),
    timestamp: timestamp(z, "When the change committed."),
    data: eventData(z, true),
  }).meta({ id: "ContactsLinkedEvent" }),
  "company.contacts_unlinked": z.object({
    type: z.literal("company.contacts_unlinked"),
    timestamp: timestamp(z, "When the change committed."),
    data: eventData(z, false),
  }).meta({ id: "ContactsUnlinkedEvent" }),
}));
