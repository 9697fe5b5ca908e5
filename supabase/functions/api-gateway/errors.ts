import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { MAX_BODY_BYTES } from "./limits.ts";

/** `text`, or its start and an ellipsis when longer than `max`: an answer never grows with what
 * the client sent. */
const cut = (text: string, max: number) => text.length > max ? `${text.slice(0, max - 1)}…` : text;

/** Every error code the gateway answers with, its status and what it means: the one table the
 * responses, the OpenAPI document and the tests are built from. Clients may switch on the codes. */
export const ERRORS = {
  validation_error: { status: 400, means: "the path, query, body or JSON is invalid" },
  invalid_url: {
    status: 400,
    means: "the webhook URL is not https, or not a public address (by name or by what it " +
      "resolves to)",
  },
  invalid_events: { status: 400, means: "an event type that does not exist" },
  invalid_key: {
    status: 401,
    means: "missing, malformed, unknown, revoked or expired API key (see WWW-Authenticate)",
  },
  insufficient_permissions: {
    status: 403,
    means: "the key lacks the route's permission, would grant (or rotate) one it lacks, or would " +
      "revoke the workspace's last admin key",
  },
  company_not_found: {
    status: 404,
    means: "no such company in the key's workspace (another workspace's looks the same)",
  },
  webhook_not_found: {
    status: 404,
    means: "no such webhook endpoint in the key's workspace (another workspace's looks the same)",
  },
  api_key_not_found: {
    status: 404,
    means: "no such API key in the key's workspace (another workspace's looks the same)",
  },
  delivery_not_found: { status: 404, means: "no such delivery of this webhook endpoint" },
  not_found: { status: 404, means: "no such route" },
  method_not_allowed: { status: 405, means: "the path exists under another method (see Allow)" },
  webhook_inactive: {
    status: 409,
    means: "the webhook endpoint is turned off: turn it back on (PATCH active) first",
  },
  webhook_limit_reached: {
    status: 409,
    means: "the workspace has as many webhook endpoints as it may (20 unless raised for it)",
  },
  webhook_url_taken: {
    status: 409,
    means: "another webhook endpoint of the workspace has this URL: change that one instead",
  },
  too_many_api_keys: {
    status: 409,
    means: "the workspace has as many live API keys as it may (100 unless raised for it)",
  },
  api_key_not_active: {
    status: 409,
    means: "the API key is revoked or expired: it cannot be rotated; create a new one",
  },
  idempotency_key_in_progress: {
    status: 409,
    means: "a request with this Idempotency-Key is still running; nothing was done (see " +
      "Retry-After)",
  },
  payload_too_large: { status: 413, means: `body over ${MAX_BODY_BYTES / 1024} KiB` },
  unsupported_media_type: { status: 415, means: "the body is not declared application/json" },
  idempotency_key_reused: {
    status: 422,
    means: "this Idempotency-Key was used in the last 24 hours for another request (another " +
      "method, path or body); nothing was done",
  },
  rate_limited: {
    status: 429,
    means: "the workspace's minute or day quota is spent, or too many of its requests are in " +
      "flight at once; nothing was done (see Retry-After)",
  },
  delivery_retry_limited: {
    status: 429,
    means: "this delivery was retried by hand 10 times in 24 hours; nothing was done (see " +
      "Retry-After)",
  },
  internal_error: { status: 500, means: "unexpected; quote X-Request-ID" },
  service_unavailable: {
    status: 503,
    means: "the database cannot be reached or timed out (see Retry-After)",
  },
} as const satisfies Record<string, { status: ContentfulStatusCode; means: string }>;

export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

export const isErrorCode = (code: unknown): code is ErrorCode =>
  typeof code === "string" && Object.hasOwn(ERRORS, code);

export type IssueDetail = { path: string; code: string; message: string; in?: string };

/** The one error type: anything the gateway answers with other than 2xx is one of these. */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: IssueDetail[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = ERRORS[code].status;
  }
}

/** 401. `presented`: a bearer token was sent but is not valid, which RFC 6750 marks with
 * error="invalid_token"; a request without one gets the bare challenge. */
export const invalidKey = (message: string, presented = false) =>
  new ApiError("invalid_key", message, undefined, {
    "WWW-Authenticate": presented
      ? 'Bearer realm="api-gateway", error="invalid_token"'
      : 'Bearer realm="api-gateway"',
  });

/** 401 for a well-formed key the database does not accept. */
export const unknownKey = () =>
  invalidKey("Invalid API key: it is unknown, revoked or expired.", true);

export const missingPermission = (permission: string) =>
  new ApiError(
    "insufficient_permissions",
    `This API key lacks the required permission: ${permission}.`,
  );

/** 429, naming the window that refused and when it resets. */
export const rateLimited = (window: "minute" | "day", limit: number, resetIn: number) =>
  new ApiError(
    "rate_limited",
    `Rate limit exceeded: this workspace's ${window === "day" ? "daily" : "per-minute"} ` +
      `quota of ${limit} requests is spent. Retry after ${resetIn} seconds.`,
    undefined,
    { "Retry-After": String(Math.max(1, resetIn)) },
  );

/** 429 for the workspace's own queue: its concurrent requests held its usage counters longer than
 * the database waits for them (api_authorize's lock_timeout). Nothing was done; a second later
 * the queue has moved on. */
export const workspaceBusy = () =>
  new ApiError(
    "rate_limited",
    "Too many of this workspace's requests are in flight at once. Retry after 1 second.",
    undefined,
    { "Retry-After": "1" },
  );

/** 403 for a key that would grant (create, rotate) permissions it does not hold itself. */
export const cannotGrant = (missing: readonly string[]) =>
  new ApiError(
    "insufficient_permissions",
    `This API key cannot grant permissions it does not hold: ${
      missing.slice(0, 10).map((p) => cut(p, 40)).join(", ")
    }.`,
  );

/** 403 for revoking the workspace's last live key holding admin:api_keys. */
export const lastAdminKey = () =>
  new ApiError(
    "insufficient_permissions",
    "This is the workspace's last active key with admin:api_keys: revoking it would leave no key " +
      "that can manage keys. Create another admin key first.",
  );

export const apiKeyNotFound = (id: string) =>
  new ApiError("api_key_not_found", `No API key ${id} in this workspace.`);

export const tooManyApiKeys = () =>
  new ApiError(
    "too_many_api_keys",
    "This workspace has as many active API keys as it may (100 unless raised for it): revoke one " +
      "first.",
  );

export const apiKeyNotActive = (id: string) =>
  new ApiError(
    "api_key_not_active",
    `API key ${id} is revoked or expired: it cannot be rotated. Create a new key instead.`,
  );

export const companyNotFound = (id: string) =>
  new ApiError("company_not_found", `No company ${id} in this workspace.`);

export const webhookNotFound = (id: string) =>
  new ApiError("webhook_not_found", `No webhook endpoint ${id} in this workspace.`);

export const deliveryNotFound = (id: string) =>
  new ApiError("delivery_not_found", `No delivery ${id} of this webhook endpoint.`);

export const webhookInactive = () =>
  new ApiError(
    "webhook_inactive",
    "This webhook endpoint is turned off: turn it back on (PATCH with active: true) first.",
  );

export const webhookLimitReached = () =>
  new ApiError(
    "webhook_limit_reached",
    "This workspace has as many webhook endpoints as it may (20 unless raised for it): delete one first.",
  );

export const webhookUrlTaken = () =>
  new ApiError(
    "webhook_url_taken",
    "Another webhook endpoint of this workspace has this URL: change that one (PATCH) instead.",
  );

/** 429 for the 11th manual retry of one delivery within 24 hours; `retryAfter` in seconds. */
export const deliveryRetryLimited = (retryAfter: number) =>
  new ApiError(
    "delivery_retry_limited",
    `This delivery was retried by hand 10 times in 24 hours. Retry after ${retryAfter} seconds.`,
    undefined,
    { "Retry-After": String(Math.max(1, retryAfter)) },
  );

/** 400 for a webhook URL the gateway will not send to; `why` is fixed text, never the URL. */
export const invalidUrl = (why: string) =>
  new ApiError("invalid_url", `The webhook URL is refused: ${why}.`);

export const invalidEvents = (unknown: string[], known: readonly string[]) =>
  new ApiError(
    "invalid_events",
    `Unknown event type${unknown.length > 1 ? "s" : ""}: ${
      unknown.slice(0, 5).map((t) => JSON.stringify(cut(t, 60))).join(", ")
    }${unknown.length > 5 ? ", ..." : ""}. Known: ${known.join(", ")}.`,
  );

/** 409 while the first request under the key runs (its record is locked longer than the
 * database waits); a second later it has most likely answered. */
export const idempotencyKeyInProgress = () =>
  new ApiError(
    "idempotency_key_in_progress",
    "A request with this Idempotency-Key is still being processed. Retry after 1 second.",
    undefined,
    { "Retry-After": "1" },
  );

export const idempotencyKeyReused = () =>
  new ApiError(
    "idempotency_key_reused",
    "This Idempotency-Key was already used for another request (method, path or body) in the " +
      "last 24 hours: use a new key for a new request.",
  );

export const serviceUnavailable = () =>
  new ApiError(
    "service_unavailable",
    "The service is temporarily unavailable. Retry after a few seconds.",
    undefined,
    { "Retry-After": "5" },
  );

/** 404 for a path no route serves. The path and method are the client's, cut short: an answer
 * never grows with the request. */
export const routeNotFound = (method: string, path: string) =>
  new ApiError("not_found", `No route for ${cut(method, 20)} ${cut(path, 200)}.`);

/** 405, with the methods the path does allow. */
export const methodNotAllowed = (method: string, allow: string) =>
  new ApiError(
    "method_not_allowed",
    `Method ${cut(method, 20)} is not allowed here. Allowed: ${allow}.`,
    undefined,
    { Allow: allow },
  );

export const internalError = () =>
  new ApiError("internal_error", "An unexpected error occurred. Quote the request id.");

export const payloadTooLarge = () =>
  new ApiError("payload_too_large", `Request body is larger than ${MAX_BODY_BYTES / 1024} KiB.`);

export const unsupportedMediaType = () =>
  new ApiError(
    "unsupported_media_type",
    "Send the request body as JSON with `Content-Type: application/json`.",
  );

export const malformedJson = () =>
  new ApiError("validation_error", "Request body is not valid JSON.");

/** Hono's own HTTP errors (body limit, malformed JSON, media type) mapped onto our codes. */
function fromHttpException(err: HTTPException): ApiError | null {
  switch (err.status) {
    case 400:
      return malformedJson();
    case 413:
      return payloadTooLarge();
    case 415:
      return unsupportedMediaType();
    default:
      return null;
  }
}

/** The ApiError a thrown value stands for, or null when it is unexpected (a 500). */
export function asApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) return fromHttpException(err);
  return null;
}

/** What an unexpected error may say in a log line: its class, its SQLSTATE-like code and where
 * it was thrown. Never its message: messages can quote user input, rows or SQL. */
export function describeCause(err: unknown): Record<string, unknown> {
  const e = err as { name?: unknown; code?: unknown; status?: unknown; stack?: unknown };
  const frames = typeof e?.stack === "string"
    ? e.stack.split("\n").filter((l) => /^\s+at /.test(l)).slice(0, 8).map((l) => l.trim())
    : [];
  return {
    name: err instanceof Error ? err.name : typeof err,
    code: typeof e?.code === "string" || typeof e?.code === "number" ? e.code : null,
    ...(typeof e?.status === "number" ? { status: e.status } : {}),
    frames,
  };
}

/** The single place that turns errors into responses. An unexpected error is answered 500 and
 * its cause kept on the context for the request's one log line. */
export function errorResponse(c: Context, err: unknown): Response {
  let apiError = asApiError(err);
  if (!apiError) {
    c.set("errorCause", describeCause(err));
    apiError = internalError();
  }
  for (const [name, value] of Object.entries(apiError.headers)) c.header(name, value);
  const body: { code: ErrorCode; message: string; details?: IssueDetail[] } = {
    code: apiError.code,
    message: apiError.message,
  };
  if (apiError.details) body.details = apiError.details;
  return c.json({ error: body }, apiError.status);
}

/** Where a zod issue came from, as clients name it. */
export type InputSource = "path" | "query" | "body" | "header";

/** At most this many details in a 400, whatever the request. */
export const MAX_DETAILS = 20;
/** Each detail's path and message are cut to these lengths: a field's name is the client's. */
const MAX_PATH = 120;
const MAX_MESSAGE = 200;

/** zod issues as the envelope's details, bounded: at most MAX_DETAILS of them, each short, and a
 * summary of fixed size, so the answer is small whatever the input (8,000 unknown fields give
 * 20 details and a count, not 8,000 copies of an 8,000-name message). An unknown field is
 * reported at its own path with a fixed message, not zod's (which lists every unknown key). The
 * work is linear in the issues: details stop being built once there are enough. An
 * unrecognized_keys issue may carry only its first keys and the `count` of all of them (a body
 * whose fields were counted without being parsed, kit/body.ts). */
export function validationError(
  issues: readonly {
    path: PropertyKey[];
    code: string;
    message: string;
    keys?: unknown[];
    count?: number;
  }[],
  where: InputSource,
): ApiError {
  const details: IssueDetail[] = [];
  let total = 0;
  const add = (path: PropertyKey[], code: string, message: string) => {
    total++;
    if (details.length < MAX_DETAILS) {
      details.push({
        path: cut(path.map(String).join("."), MAX_PATH),
        code,
        message: cut(message, MAX_MESSAGE),
        in: where,
      });
    }
  };
  for (const issue of issues) {
    const keys = issue.keys;
    if (issue.code === "unrecognized_keys" && Array.isArray(keys) && keys.length > 0) {
      const shown = Math.max(0, Math.min(keys.length, MAX_DETAILS - details.length));
      for (const key of keys.slice(0, shown)) {
        add([...issue.path, String(key)], issue.code, "Unknown field");
      }
      total += (issue.count ?? keys.length) - shown;
    } else {
      add(issue.path, issue.code, issue.message);
    }
  }
  const first = details[0];
  const summary = first ? `${first.path ? `${first.path}: ` : ""}${first.message}` : "Invalid";
  const more = total > 1
    ? ` (${total} issues${total > MAX_DETAILS ? `, the first ${MAX_DETAILS} in details` : ""})`
    : "";
  return new ApiError(
    "validation_error",
    `Invalid request ${where}. ${summary}${more}`,
    details,
  );
}
