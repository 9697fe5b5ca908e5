import { z } from "@hono/zod-openapi";
import {
  apiKeyNotActive,
  apiKeyNotFound,
  companyNotFound,
  deliveryNotFound,
  deliveryRetryLimited,
  ERROR_CODES,
  type ErrorCode,
  ERRORS,
  idempotencyKeyInProgress,
  idempotencyKeyReused,
  internalError,
  invalidEvents,
  invalidUrl,
  MAX_DETAILS,
  methodNotAllowed,
  missingPermission,
  payloadTooLarge,
  rateLimited,
  routeNotFound,
  serviceUnavailable,
  tooManyApiKeys,
  unknownKey,
  unsupportedMediaType,
  validationError,
  webhookInactive,
  webhookLimitReached,
  webhookNotFound,
  webhookUrlTaken,
} from "../../supabase/functions/api-gateway/errors.ts";
import type { Permission } from "../../supabase/functions/api-gateway/permissions.ts";
import { WEBHOOK_EVENT_TYPES } from "../../supabase/functions/api-gateway/webhooks/events.ts";

export const ErrorSchema = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]).openapi({
      example: "validation_error",
    }),
    message: z.string().openapi({ example: "Invalid request body. contact_ids.3: Invalid UUID" }),
    details: z.array(z.object({
      path: z.string().openapi({ example: "contact_ids.3" }),
      code: z.string().openapi({ example: "invalid_format" }),
      message: z.string().openapi({ example: "Invalid UUID" }),
      in: z.enum(["path", "query", "body", "header"]).openapi({ example: "body" }),
    })).optional().openapi({
      description:
        `validation_error only: the issues with their paths, at most ${MAX_DETAILS} (the message counts them all).`,
    }),
  }),
}).openapi("Error");

const integer = (description: string) => ({
  description,
  schema: { type: "integer" as const },
});

/** On every answer to a request whose key was valid (200 and 4xx alike). */
export const RATE_LIMIT_HEADERS = {
  "X-RateLimit-Limit": integer("The workspace's daily quota."),
  "X-RateLimit-Remaining": integer("Requests left today (UTC)."),
  "X-RateLimit-Reset": integer("Unix seconds of the next 00:00 UTC, when the daily quota resets."),
  "RateLimit-Policy": {
    description: 'Both windows (draft-ietf-httpapi-ratelimit-headers-11), e.g. `"minute";q=10;' +
      'w=60, "day";q=100;w=86400`.',
    schema: { type: "string" as const },
  },
  "RateLimit": {
    description: 'The window that runs out first: `"minute";r=<remaining>;t=<seconds to reset>`.',
    schema: { type: "string" as const },
  },
};

const RETRY_AFTER = integer("Seconds to wait before retrying.");

/** On an answer replayed under an Idempotency-Key (a success, or the route's own refusal). */
export const REPLAYED_HEADERS = {
  "Idempotent-Replayed": {
    description: "`true` when this is the stored answer to an earlier request with the same " +
      "Idempotency-Key (nothing was done again); absent otherwise.",
    schema: { type: "string" as const, enum: ["true"] },
  },
};

/** The codes only a write (POST, PATCH, DELETE) can answer: its Idempotency-Key's. */
export const IDEMPOTENCY_CODES: readonly ErrorCode[] = [
  "idempotency_key_in_progress",
  "idempotency_key_reused",
];

/** The 400 of a body whose fourth contact id is not a UUID, as the gateway words it. */
const invalidUuid = validationError(
  [{ path: ["contact_ids", 3], code: "invalid_format", message: "Invalid UUID" }],
  "body",
);

/** One envelope per code, worded as the gateway words it, for the document's examples. */
function errorExample(code: ErrorCode, permission: Permission) {
  const message: Record<ErrorCode, string> = {
    validation_error: invalidUuid.message,
    invalid_key: unknownKey().message,
    insufficient_permissions: missingPermission(permission).message,
    company_not_found: companyNotFound("c0000000-0000-4000-8000-000000000009").message,
    invalid_url: invalidUrl("it must use https").message,
    invalid_events: invalidEvents(["contact.deleted"], WEBHOOK_EVENT_TYPES).message,
    webhook_not_found: webhookNotFound("e0000000-0000-4000-8000-000000000009").message,
    delivery_not_found: deliveryNotFound("d0000000-0000-4000-8000-000000000009").message,
    webhook_inactive: webhookInactive().message,
    webhook_limit_reached: webhookLimitReached().message,
    webhook_url_taken: webhookUrlTaken().message,
    delivery_retry_limited: deliveryRetryLimited(3600).message,
    api_key_not_found: apiKeyNotFound("0c000000-0000-4000-8000-000000000009").message,
    too_many_api_keys: tooManyApiKeys().message,
    api_key_not_active: apiKeyNotActive("0c000000-0000-4000-8000-000000000009").message,
    idempotency_key_in_progress: idempotencyKeyInProgress().message,
    idempotency_key_reused: idempotencyKeyReused().message,
    not_found: routeNotFound("GET", "/api-gateway/v1/companies").message,
    method_not_allowed: methodNotAllowed("PUT", "OPTIONS, POST").message,
    payload_too_large: payloadTooLarge().message,
    unsupported_media_type: unsupportedMediaType().message,
    rate_limited: rateLimited("minute", 50, 17).message,
    internal_error: internalError().message,
    service_unavailable: serviceUnavailable().message,
  };
  const error = code === "validation_error"
    ? { code, message: message[code], details: invalidUuid.details }
    : { code, message: message[code] };
  return { summary: code, value: { error } };
}

/** Statuses a key-authenticated route can answer besides 200, with the codes behind each. */
export function errorResponses(
  routeCodes: readonly ErrorCode[],
  permission: Permission,
  { write = false }: { write?: boolean } = {},
) {
  const codes: ErrorCode[] = [
    "validation_error",
    "invalid_key",
    "insufficient_permissions",
    "not_found",
    "method_not_allowed",
    "payload_too_large",
    "unsupported_media_type",
    "rate_limited",
    "internal_error",
    "service_unavailable",
    ...(write ? IDEMPOTENCY_CODES : []),
    ...routeCodes,
  ];
  // A route's own refusals are stored and replayed like its successes.
  const replayable = new Set<number>(routeCodes.map((code) => ERRORS[code].status));
  const byStatus = new Map<number, ErrorCode[]>();
  // A route may declare a code every route has (its own insufficient_permissions): listed once.
  for (const code of new Set(codes)) {
    const status = ERRORS[code].status;
    byStatus.set(status, [...byStatus.get(status) ?? [], code]);
  }
  const responses: Record<number, unknown> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const headers: Record<string, unknown> = {};
    // Answered after the key was checked: the quota state rides along.
    if ([400, 403, 404, 409, 415, 422, 429].includes(status)) {
      Object.assign(headers, RATE_LIMIT_HEADERS);
    }
    if (write && replayable.has(status)) Object.assign(headers, REPLAYED_HEADERS);
    if (
      status === 429 || status === 503 ||
      (status === 409 && list.includes("idempotency_key_in_progress"))
    ) {
      headers["Retry-After"] = RETRY_AFTER;
    }
    if (status === 401) {
      headers["WWW-Authenticate"] = {
        description: 'Bearer realm="api-gateway" (error="invalid_token" when a key was sent).',
        schema: { type: "string" },
      };
    }
    if (status === 405) {
      headers["Allow"] = {
        description: "The methods the path allows.",
        schema: { type: "string" },
      };
    }
    responses[status] = {
      description: list.map((code) => `\`${code}\`: ${ERRORS[code].means}`).join("; "),
      headers,
      content: {
        "application/json": {
          schema: ErrorSchema,
          examples: Object.fromEntries(list.map((code) => [code, errorExample(code, permission)])),
        },
      },
    };
  }
  return responses;
}
